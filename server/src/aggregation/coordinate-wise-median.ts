// Coordinate-wise median. Each teacher logit is the median of the clients' logits for that
// probe and candidate. Use it when some clients may send outlying or adversarial logits, because
// fewer than half of the clients cannot move a median arbitrarily far.

import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { validateClientLogits } from './client-logits-validation.js';

/** Per (probe, candidate), the median of the clients' logits, or the mean of the two middle values for an even count. */
export class CoordinateWiseMedian implements AggregationStrategy {
  readonly name = 'median';

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    validateClientLogits(inputs, shape);

    const size = shape.probes * shape.candidates;
    const count = inputs.length;
    const middle = Math.floor(count / 2);
    const values = new Float64Array(count);
    const teacher = new Float32Array(size);

    for (let k = 0; k < size; k++) {
      for (let i = 0; i < count; i++) values[i] = inputs[i].logits[k];
      values.sort();

      teacher[k] = count % 2 === 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
    return teacher;
  }
}
