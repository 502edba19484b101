// Non-negative matrix factorization X ≈ W H with the multiplicative updates of Lee and Seung
// (2001) for the Frobenius loss ||X − W H||²_F. Each update keeps W and H non-negative and, in
// exact arithmetic, never increases the loss.
import { createRandom } from '../random.js';
import { validateBinaryMatrix } from './binary-matrix.js';
import { createDenseMatrix, validateDenseShape, validateNonNegativeEntries, type DenseMatrix } from './dense-matrix.js';
import {
  applyMultiplicativeUpdate,
  DataMatrixProducts,
  gramOfFactor,
  innerProduct,
  squaredFrobeniusNorm,
  type FactorizationInput,
} from './factor-products.js';

export const DEFAULT_NMF_MAX_ITERATIONS = 200;
export const DEFAULT_NMF_TOLERANCE = 1e-4;

export interface NmfOptions {
  /**
   * Number of patterns k: the columns of W and the rows of H. An integer from 1 to
   * min(rows, columns). A larger rank is rejected because it cannot fit better. Every
   * non-negative m × n matrix X already equals X · I or I · X, a non-negative product of inner
   * size min(m, n).
   */
  rank: number;
  /** Seed of the random initial W and H. The same seed and input give the same result. */
  seed: number | string;
  /** Maximum number of iterations, each one update of H and then one of W. Default 200. */
  maxIterations?: number;
  /**
   * Largest drop of the reconstruction error over one iteration, as a fraction of the previous
   * error, at which the run stops early. Default 1e-4. With 0 it stops only at a fixed point.
   */
  tolerance?: number;
}

export interface NmfResult {
  /** The weights W, rows × rank. */
  w: DenseMatrix;
  /** The patterns H, rank × columns. */
  h: DenseMatrix;
  /** ||X − W H||_F of the returned Float32 factors. */
  reconstructionError: number;
  /** reconstructionError divided by ||X||_F, or 0 when X is all zeros. */
  relativeError: number;
  /**
   * ||X − W H||_F of the Float64 iterates: entry 0 after initialization, entry t after
   * iteration t. In exact arithmetic it never increases.
   */
  errorHistory: Float64Array;
  /** Number of iterations run. */
  iterations: number;
  /** Whether the tolerance stopped the run, which may happen at the last allowed iteration. */
  converged: boolean;
}

/**
 * Factorizes a sparse binary or dense non-negative matrix X into non-negative W (rows × rank)
 * and H (rank × columns). Each iteration costs O(ones × rank) for the products with a sparse
 * binary X, which is never expanded, or O(rows × columns × rank) for a dense X, plus
 * O((rows + columns) × rank²) for the rest.
 */
export function factorizeNonNegative(matrix: FactorizationInput, options: NmfOptions): NmfResult {
  validateFactorizationInput(matrix);
  const { rank, maxIterations, tolerance } = resolveOptions(matrix, options);
  const rowCount = matrix.rowCount;
  const columnCount = matrix.columnCount;

  // The factors are kept in Float64 as W (rows × rank) and Hᵀ (columns × rank).
  const squaredNorm = squaredFrobeniusNorm(matrix);
  const { w, transposedH } = initializeFactors(rowCount, columnCount, rank, sumOfEntries(matrix), options.seed);

  const products = new DataMatrixProducts(matrix);
  const xTimesHt = new Float64Array(rowCount * rank);
  const xtTimesW = new Float64Array(columnCount * rank);
  const gramW = new Float64Array(rank * rank);
  const gramH = new Float64Array(rank * rank);
  const denominator = new Float64Array(rank);
  const scratch = new Float64Array(Math.max(rowCount, columnCount) * rank);

  products.multiplyByTransposedH(transposedH, rank, xTimesHt);
  gramOfFactor(transposedH, columnCount, rank, gramH, scratch);
  gramOfFactor(w, rowCount, rank, gramW, scratch);
  const errorHistory = [errorFromProducts(squaredNorm, w, xTimesHt, gramW, gramH)];

  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    // H ← H ⊙ (Wᵀ X) / (Wᵀ W H), written for Hᵀ as Hᵀ ⊙ (Xᵀ W) / (Hᵀ WᵀW).
    products.multiplyTransposeByW(w, rank, xtTimesW);
    applyMultiplicativeUpdate(transposedH, xtTimesW, gramW, columnCount, rank, denominator);

    // W ← W ⊙ (X Hᵀ) / (W H Hᵀ).
    products.multiplyByTransposedH(transposedH, rank, xTimesHt);
    gramOfFactor(transposedH, columnCount, rank, gramH, scratch);
    applyMultiplicativeUpdate(w, xTimesHt, gramH, rowCount, rank, denominator);

    // X Hᵀ and H Hᵀ still hold for the new W, so the error costs only the new Wᵀ W.
    gramOfFactor(w, rowCount, rank, gramW, scratch);
    const error = errorFromProducts(squaredNorm, w, xTimesHt, gramW, gramH);
    const previousError = errorHistory[errorHistory.length - 1];
    errorHistory.push(error);
    iterations++;

    if (previousError - error <= tolerance * previousError) {
      converged = true;
      break;
    }
  }

  const wOut = createDenseMatrix(Float32Array.from(w), rowCount, rank);
  const hOut = createDenseMatrix(transposeToFloat32(transposedH, columnCount, rank), rank, columnCount);
  const reconstructionError = measureReconstructionError(matrix, wOut, hOut);
  return {
    w: wOut,
    h: hOut,
    reconstructionError,
    relativeError: squaredNorm > 0 ? reconstructionError / Math.sqrt(squaredNorm) : 0,
    errorHistory: Float64Array.from(errorHistory),
    iterations,
    converged,
  };
}

/**
 * Computes ||X − W H||_F for factors W (rows × k) and H (k × columns) in Float64, without
 * forming W H, as sqrt(||X||² − 2 Σ X ⊙ (W H) + Σ (Wᵀ W) ⊙ (H Hᵀ)).
 */
export function measureReconstructionError(matrix: FactorizationInput, w: DenseMatrix, h: DenseMatrix): number {
  validateDenseShape(w, 'factor W');
  validateDenseShape(h, 'factor H');
  const rank = w.columnCount;
  if (w.rowCount !== matrix.rowCount || h.columnCount !== matrix.columnCount || h.rowCount !== rank) {
    throw new RangeError(
      `Factors of shape ${w.rowCount} × ${w.columnCount} and ${h.rowCount} × ${h.columnCount} do not ` +
        `multiply to the ${matrix.rowCount} × ${matrix.columnCount} matrix. Pass W as rows × k and H as k × columns.`,
    );
  }

  const w64 = Float64Array.from(w.values);
  const transposedH = transposeToFloat64(h.values, rank, matrix.columnCount);
  const xTimesHt = new Float64Array(matrix.rowCount * rank);
  const gramW = new Float64Array(rank * rank);
  const gramH = new Float64Array(rank * rank);
  const scratch = new Float64Array(Math.max(matrix.rowCount, matrix.columnCount) * rank);
  new DataMatrixProducts(matrix).multiplyByTransposedH(transposedH, rank, xTimesHt);
  gramOfFactor(w64, matrix.rowCount, rank, gramW, scratch);
  gramOfFactor(transposedH, matrix.columnCount, rank, gramH, scratch);
  return errorFromProducts(squaredFrobeniusNorm(matrix), w64, xTimesHt, gramW, gramH);
}

/** Throws unless the matrix is a consistent sparse binary matrix or a finite non-negative dense one. */
export function validateFactorizationInput(matrix: FactorizationInput): void {
  if (matrix.kind === 'binary') {
    validateBinaryMatrix(matrix, 'binary matrix');
  } else {
    validateDenseShape(matrix, 'dense matrix');
    validateNonNegativeEntries(matrix, 'dense matrix');
  }
}

function resolveOptions(
  matrix: FactorizationInput,
  options: NmfOptions,
): { rank: number; maxIterations: number; tolerance: number } {
  const { rowCount, columnCount } = matrix;
  if (rowCount === 0 || columnCount === 0) {
    throw new RangeError(
      `Cannot factorize a ${rowCount} × ${columnCount} matrix, because factorization needs at least one ` +
        'row and one column. Pass a matrix with at least one user and one item.',
    );
  }

  const rank = options.rank;
  if (!Number.isInteger(rank) || rank < 1) {
    throw new RangeError(`Invalid rank ${rank}: pass an integer of at least 1.`);
  }
  const maxRank = Math.min(rowCount, columnCount);
  if (rank > maxRank) {
    throw new RangeError(
      `Rank ${rank} exceeds min(rows, columns) = ${maxRank} for a ${rowCount} × ${columnCount} matrix. ` +
        `Pass a rank of at most ${maxRank}.`,
    );
  }

  const maxIterations = options.maxIterations ?? DEFAULT_NMF_MAX_ITERATIONS;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`Invalid maxIterations ${maxIterations}: pass an integer of at least 1.`);
  }

  const tolerance = options.tolerance ?? DEFAULT_NMF_TOLERANCE;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`Invalid tolerance ${tolerance}: pass a finite number of at least 0.`);
  }
  return { rank, maxIterations, tolerance };
}

/**
 * Draws W and H uniformly from (0, scale], with the scale chosen so that the expected entry of
 * W H equals the mean entry of X. Entries start strictly positive because a multiplicative
 * update never moves an entry away from 0.
 */
function initializeFactors(
  rowCount: number,
  columnCount: number,
  rank: number,
  entrySum: number,
  seed: number | string,
): { w: Float64Array; transposedH: Float64Array } {
  const meanEntry = entrySum / (rowCount * columnCount);
  const scale = 2 * Math.sqrt(meanEntry / rank);
  const random = createRandom(seed, 'nmf-initialization');

  const w = new Float64Array(rowCount * rank);
  for (let index = 0; index < w.length; index++) w[index] = scale * (1 - random());

  // H is drawn in its own row-major order and stored transposed.
  const transposedH = new Float64Array(columnCount * rank);
  for (let a = 0; a < rank; a++) {
    for (let column = 0; column < columnCount; column++) transposedH[column * rank + a] = scale * (1 - random());
  }
  return { w, transposedH };
}

function sumOfEntries(matrix: FactorizationInput): number {
  if (matrix.kind === 'binary') return matrix.rowPointers[matrix.rowCount];

  let total = 0;
  for (let index = 0; index < matrix.values.length; index++) total += matrix.values[index];
  return total;
}

function errorFromProducts(
  squaredNorm: number,
  w: Float64Array,
  xTimesHt: Float64Array,
  gramW: Float64Array,
  gramH: Float64Array,
): number {
  const squaredError = squaredNorm - 2 * innerProduct(w, xTimesHt) + innerProduct(gramW, gramH);

  // Cancellation can leave a tiny negative value when the fit is nearly exact.
  return Math.sqrt(Math.max(squaredError, 0));
}

function transposeToFloat32(values: Float64Array, rowCount: number, columnCount: number): Float32Array {
  const transposed = new Float32Array(values.length);
  for (let row = 0; row < rowCount; row++) {
    for (let column = 0; column < columnCount; column++) {
      transposed[column * rowCount + row] = values[row * columnCount + column];
    }
  }
  return transposed;
}

function transposeToFloat64(values: Float32Array, rowCount: number, columnCount: number): Float64Array {
  const transposed = new Float64Array(values.length);
  for (let row = 0; row < rowCount; row++) {
    for (let column = 0; column < columnCount; column++) {
      transposed[column * rowCount + row] = values[row * columnCount + column];
    }
  }
  return transposed;
}
