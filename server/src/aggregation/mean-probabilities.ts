import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { addWeightedSoftmax, logOfMixture } from './probability-mixture.js';

/**
 * The teacher is the ensemble mixture: for each probe, the mean over clients of the softmax of
 * their logits over the candidates, returned as log-probabilities. Unlike a mean of logits, one
 * client that knows an item well can raise it even when the others have never seen it.
 */
export class MeanProbabilities implements AggregationStrategy {
  readonly name = 'mean-probabilities';

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    const { probes, candidates } = shape;
    const mixture = new Float64Array(probes * candidates);

    for (const input of inputs) {
      if (input.logits.length !== probes * candidates) {
        throw new Error(
          `Logits of client ${input.clientId} have ${input.logits.length} values; expected ${probes * candidates}.`,
        );
      }
      for (let q = 0; q < probes; q++) addWeightedSoftmax(input.logits, q * candidates, candidates, 1, mixture);
    }

    const teacher = new Float32Array(probes * candidates);
    for (let k = 0; k < teacher.length; k++) teacher[k] = logOfMixture(mixture[k], inputs.length);
    return teacher;
  }
}
