// Coordinate-wise trimmed mean. For each probe and candidate, the largest and smallest client
// logits are dropped and the rest averaged. Use it for robustness to a few outlying clients
// while keeping more of the data than a median does.

import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { validateClientLogits } from './client-logits-validation.js';

const DEFAULT_TRIM = 0.2;

/**
 * Per (probe, candidate), drops the ⌊trim · n⌋ largest and the ⌊trim · n⌋ smallest of the n client
 * logits and averages the rest. With fewer than 1 / trim clients nothing is dropped, and it is the plain mean.
 */
export class TrimmedMeanLogits implements AggregationStrategy {
  readonly name = 'trimmed-mean';
  readonly trim: number;

  constructor(trim = DEFAULT_TRIM) {
    if (!Number.isFinite(trim) || trim < 0 || trim >= 0.5) {
      throw new Error(
        `Invalid trim ${trim} for trimmed-mean: expected a fraction in [0, 0.5), ` +
          'the share of clients dropped at each end. The default is 0.2.',
      );
    }
    this.trim = trim;
  }

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    validateClientLogits(inputs, shape);

    const size = shape.probes * shape.candidates;
    const count = inputs.length;

    // Because trim < 0.5, 2 · droppedPerEnd < count, so at least one value is always kept.
    const droppedPerEnd = Math.floor(this.trim * count);
    const keptCount = count - 2 * droppedPerEnd;

    const values = new Float64Array(count);
    const teacher = new Float32Array(size);
    for (let k = 0; k < size; k++) {
      for (let i = 0; i < count; i++) values[i] = inputs[i].logits[k];
      values.sort();

      let sum = 0;
      for (let i = droppedPerEnd; i < count - droppedPerEnd; i++) sum += values[i];
      teacher[k] = sum / keptCount;
    }
    return teacher;
  }
}
