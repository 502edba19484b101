import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';

/** The teacher is the element-wise mean of the clients' logits (FedMD's consensus). */
export class MeanLogits implements AggregationStrategy {
  readonly name = 'mean-logits';

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    const size = shape.probes * shape.candidates;
    const sum = new Float64Array(size);
    for (const input of inputs) {
      if (input.logits.length !== size) {
        throw new Error(
          `Logits of client ${input.clientId} have ${input.logits.length} values; expected ${size}.`,
        );
      }
      for (let k = 0; k < size; k++) sum[k] += input.logits[k];
    }

    const teacher = new Float32Array(size);
    for (let k = 0; k < size; k++) teacher[k] = sum[k] / inputs.length;
    return teacher;
  }
}
