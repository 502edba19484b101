// Data-size weighting, as FedAvg weights model updates. The teacher is the mean of the clients'
// logits weighted by how many training interactions each client reported. Use it when clients hold
// very different amounts of data and the reported counts can be trusted.

import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { validateClientLogits } from './client-logits-validation.js';

/** Element-wise mean of the clients' logits, weighted by each client's exampleCount. */
export class DataSizeWeightedLogits implements AggregationStrategy {
  readonly name = 'data-size-weighted';

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    validateClientLogits(inputs, shape);

    // NOTE: exampleCount is self-reported at registration and nothing verifies it, so a client
    // can claim a huge count and dominate the teacher. Prefer median or trimmed-mean if that matters.
    const weights = inputs.map((input) => {
      if (!Number.isFinite(input.exampleCount)) {
        throw new Error(
          `Invalid exampleCount from client ${input.clientId}: ${input.exampleCount}. ` +
            'Expected a finite number of training interactions.',
        );
      }
      return Math.max(0, input.exampleCount);
    });
    let totalWeight = weights.reduce((sum, weight) => sum + weight, 0);

    // When no client reports any data, every client counts equally.
    if (totalWeight === 0) {
      weights.fill(1);
      totalWeight = inputs.length;
    }

    const size = shape.probes * shape.candidates;
    const sum = new Float64Array(size);
    inputs.forEach((input, i) => {
      for (let k = 0; k < size; k++) sum[k] += weights[i] * input.logits[k];
    });

    const teacher = new Float32Array(size);
    for (let k = 0; k < size; k++) teacher[k] = sum[k] / totalWeight;
    return teacher;
  }
}
