// Padded index and weight arrays for a batch of variable-length contexts, ready for tf.gather
// followed by a weighted sum (mean pooling).

export interface ContextBatch {
  size: number;
  /** Longest context in the batch after truncation; at least 1. */
  width: number;
  /** [size × width] item indices, padded with item 0. */
  indices: Int32Array;
  /** [size × width] pooling weights: 1 / length for real entries, 0 for padding. */
  weights: Float32Array;
}

/**
 * Packs contexts into a batch. Contexts longer than `maxLength` keep their last `maxLength`
 * items, the most recent ones in a chronological history. An empty context pools to the zero
 * vector, so the student scores it by its output bias alone.
 */
export function packContexts(
  contexts: readonly ArrayLike<number>[],
  maxLength: number,
  recencyHalfLife = 0,
): ContextBatch {
  let width = 1;
  for (const context of contexts) width = Math.max(width, Math.min(context.length, maxLength));

  const size = contexts.length;
  const indices = new Int32Array(size * width);
  const weights = new Float32Array(size * width);
  for (let row = 0; row < size; row++) {
    const context = contexts[row];
    const start = Math.max(0, context.length - maxLength);
    const length = context.length - start;
    let total = 0;
    for (let k = 0; k < length; k++) {
      const age = length - 1 - k;
      const weight = recencyHalfLife > 0 ? Math.pow(2, -age / recencyHalfLife) : 1;
      indices[row * width + k] = context[start + k];
      weights[row * width + k] = weight;
      total += weight;
    }
    for (let k = 0; k < length; k++) weights[row * width + k] /= total;
  }
  return { size, width, indices, weights };
}
