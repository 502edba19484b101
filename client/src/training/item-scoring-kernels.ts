// Dense kernels of the scoring layer of the pooled-embedding student on row-major typed arrays:
// logits = hidden · itemsᵀ + bias, and its gradients with respect to the items, the bias and the
// hidden vectors.
//
// Each kernel handles a block of several batch rows and item rows per inner loop, so a value
// loaded from memory is used several times. In a one-off measurement on Node 20 (2-core AMD EPYC)
// at 64 rows × 9,724 items × 64 dimensions, these blocks ran 3 to 4 times faster than loops of one
// dot product at a time. Callers pad both row counts to a multiple of BLOCK_ROWS with zero rows.

/** Batch rows and item rows must be multiples of this. */
export const BLOCK_ROWS = 4;

/** Rounds a row count up to a multiple of BLOCK_ROWS. */
export function paddedRowCount(rows: number): number {
  return Math.ceil(rows / BLOCK_ROWS) * BLOCK_ROWS;
}

/** Sizes of one scoring product. Both row counts are multiples of BLOCK_ROWS. */
export interface ScoringShape {
  batchRows: number;
  itemRows: number;
  /** Length of a hidden vector and of an item vector. */
  width: number;
}

/**
 * Writes logits[b × itemRows + j] = bias[j] + hidden[b] · items[j] for every batch row b and item
 * row j. hidden is [batchRows × width], items [itemRows × width].
 */
export function scoreItems(
  hidden: Float64Array,
  items: Float32Array,
  bias: Float32Array,
  shape: ScoringShape,
  logits: Float64Array,
): void {
  const { batchRows, itemRows, width } = shape;
  assertBlocked(shape);

  for (let j = 0; j < itemRows; j += 2) {
    const item0 = j * width;
    const item1 = item0 + width;

    for (let b = 0; b < batchRows; b += 4) {
      const row0 = b * width;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let k = 0; k < width; k++) {
        const h = row0 + k;
        const x0 = hidden[h], x1 = hidden[h + width], x2 = hidden[h + 2 * width], x3 = hidden[h + 3 * width];
        const u = items[item0 + k];
        const v = items[item1 + k];
        a0 += x0 * u; a1 += x1 * u; a2 += x2 * u; a3 += x3 * u;
        c0 += x0 * v; c1 += x1 * v; c2 += x2 * v; c3 += x3 * v;
      }

      const z = b * itemRows + j;
      const bias0 = bias[j];
      const bias1 = bias[j + 1];
      logits[z] = bias0 + a0;
      logits[z + 1] = bias1 + c0;
      logits[z + itemRows] = bias0 + a1;
      logits[z + itemRows + 1] = bias1 + c1;
      logits[z + 2 * itemRows] = bias0 + a2;
      logits[z + 2 * itemRows + 1] = bias1 + c2;
      logits[z + 3 * itemRows] = bias0 + a3;
      logits[z + 3 * itemRows + 1] = bias1 + c3;
    }
  }
}

/**
 * Adds the gradients of the item vectors and the bias: itemGradient[j] += Σ_b dLogits[b, j] ·
 * hidden[b], and biasGradient[j] += Σ_b dLogits[b, j].
 */
export function accumulateItemGradients(
  dLogits: Float64Array,
  hidden: Float64Array,
  shape: ScoringShape,
  itemGradient: Float64Array,
  biasGradient: Float64Array,
): void {
  const { batchRows, itemRows, width } = shape;
  assertBlocked(shape);

  for (let j = 0; j < itemRows; j += 2) {
    const item0 = j * width;
    const item1 = item0 + width;
    let biasSum0 = 0;
    let biasSum1 = 0;

    for (let b = 0; b < batchRows; b += 4) {
      const z = b * itemRows + j;
      const a0 = dLogits[z], a1 = dLogits[z + itemRows], a2 = dLogits[z + 2 * itemRows], a3 = dLogits[z + 3 * itemRows];
      const c0 = dLogits[z + 1], c1 = dLogits[z + itemRows + 1], c2 = dLogits[z + 2 * itemRows + 1], c3 = dLogits[z + 3 * itemRows + 1];
      biasSum0 += a0 + a1 + a2 + a3;
      biasSum1 += c0 + c1 + c2 + c3;

      const row0 = b * width;
      for (let k = 0; k < width; k++) {
        const h = row0 + k;
        const x0 = hidden[h], x1 = hidden[h + width], x2 = hidden[h + 2 * width], x3 = hidden[h + 3 * width];
        itemGradient[item0 + k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        itemGradient[item1 + k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
      }
    }

    biasGradient[j] += biasSum0;
    biasGradient[j + 1] += biasSum1;
  }
}

/** Adds the gradient of the hidden vectors: hiddenGradient[b] += Σ_j dLogits[b, j] · items[j]. */
export function accumulateHiddenGradients(
  dLogits: Float64Array,
  items: Float32Array,
  shape: ScoringShape,
  hiddenGradient: Float64Array,
): void {
  const { batchRows, itemRows, width } = shape;
  assertBlocked(shape);

  for (let b = 0; b < batchRows; b += 2) {
    const gradient0 = b * width;
    const gradient1 = gradient0 + width;
    const z0 = b * itemRows;
    const z1 = z0 + itemRows;

    for (let j = 0; j < itemRows; j += 4) {
      const a0 = dLogits[z0 + j], a1 = dLogits[z0 + j + 1], a2 = dLogits[z0 + j + 2], a3 = dLogits[z0 + j + 3];
      const c0 = dLogits[z1 + j], c1 = dLogits[z1 + j + 1], c2 = dLogits[z1 + j + 2], c3 = dLogits[z1 + j + 3];
      const item0 = j * width;
      for (let k = 0; k < width; k++) {
        const i = item0 + k;
        const x0 = items[i], x1 = items[i + width], x2 = items[i + 2 * width], x3 = items[i + 3 * width];
        hiddenGradient[gradient0 + k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        hiddenGradient[gradient1 + k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
      }
    }
  }
}

function assertBlocked(shape: ScoringShape): void {
  if (shape.batchRows % BLOCK_ROWS !== 0 || shape.itemRows % BLOCK_ROWS !== 0) {
    throw new Error(
      `Scoring kernel: ${shape.batchRows} batch rows × ${shape.itemRows} item rows is not a multiple of ` +
        `${BLOCK_ROWS} in both. Pad both with zero rows to paddedRowCount().`,
    );
  }
}
