// Projection of contexts onto fixed item patterns G: for each context x (a multi-hot row of
// items), the weights w ≥ 0 that minimize ||x − w G||, and the item scores w G. This is how a
// fedsplit client turns the global patterns into a teacher for any user history or probe.
import { createBinaryMatrix, validateBinaryMatrix } from './binary-matrix.js';
import { createDenseMatrix, validateDenseShape, validateNonNegativeEntries, type DenseMatrix } from './dense-matrix.js';
import { DataMatrixProducts, gramOfFactor, type FactorizationInput } from './factor-products.js';
import { solveNonNegativeLeastSquares } from './nnls.js';

/**
 * Solver for the weights. 'active-set' solves each non-negative least squares problem
 * exactly, at a cost that grows with the cube of the number of patterns it keeps. 'multiplicative'
 * runs Lee and Seung updates with G fixed, at O(patterns²) per iteration, and is approximate.
 */
export type ProjectionMethod = 'active-set' | 'multiplicative';

export const DEFAULT_PROJECTION_MAX_ITERATIONS = 200;
export const DEFAULT_PROJECTION_TOLERANCE = 1e-6;

export interface PatternProjectionOptions {
  /** Default 'active-set'. */
  method?: ProjectionMethod;
  /** Maximum multiplicative updates per context. Default 200. The active-set method ignores it. */
  maxIterations?: number;
  /**
   * Multiplicative method only: stops a context when one update lowers its squared residual by
   * at most this fraction. Default 1e-6.
   */
  tolerance?: number;
}

/** Contexts as item index lists (one per row), or as a sparse binary or dense matrix with one row each. */
export type ProjectionContexts = readonly ArrayLike<number>[] | FactorizationInput;

/** Weights and scores of a batch of contexts. */
export interface ProjectedScores {
  /** contexts × patterns. */
  weights: DenseMatrix;
  /** contexts × items, or contexts × candidates when candidates were given. */
  scores: DenseMatrix;
}

/**
 * Projects contexts onto one fixed set of non-negative patterns G (patterns × items). The Gram
 * matrix G Gᵀ is computed once in the constructor and shared by every context.
 */
export class PatternProjector {
  readonly patternCount: number;
  readonly itemCount: number;
  private readonly method: ProjectionMethod;
  private readonly maxIterations: number;
  private readonly tolerance: number;
  /** Gᵀ in Float64, items × patterns, so that one item's pattern values are contiguous. */
  private readonly transposedPatterns: Float64Array;
  /** G Gᵀ, patterns × patterns. */
  private readonly gram: Float64Array;

  constructor(patterns: DenseMatrix, options: PatternProjectionOptions = {}) {
    validateDenseShape(patterns, 'pattern matrix');
    validateNonNegativeEntries(patterns, 'pattern matrix');
    if (patterns.rowCount < 1 || patterns.columnCount < 1) {
      throw new RangeError(
        `The pattern matrix has shape ${patterns.rowCount} × ${patterns.columnCount}. ` +
          'Pass at least one pattern over at least one item.',
      );
    }

    this.method = options.method ?? 'active-set';
    if (this.method !== 'active-set' && this.method !== 'multiplicative') {
      throw new RangeError(`Unknown projection method "${String(this.method)}": pass 'active-set' or 'multiplicative'.`);
    }
    this.maxIterations = options.maxIterations ?? DEFAULT_PROJECTION_MAX_ITERATIONS;
    if (!Number.isInteger(this.maxIterations) || this.maxIterations < 1) {
      throw new RangeError(`Invalid maxIterations ${this.maxIterations}: pass an integer of at least 1.`);
    }
    this.tolerance = options.tolerance ?? DEFAULT_PROJECTION_TOLERANCE;
    if (!Number.isFinite(this.tolerance) || this.tolerance < 0) {
      throw new RangeError(`Invalid tolerance ${this.tolerance}: pass a finite number of at least 0.`);
    }

    this.patternCount = patterns.rowCount;
    this.itemCount = patterns.columnCount;
    this.transposedPatterns = new Float64Array(this.itemCount * this.patternCount);
    for (let a = 0; a < this.patternCount; a++) {
      for (let item = 0; item < this.itemCount; item++) {
        this.transposedPatterns[item * this.patternCount + a] = patterns.values[a * this.itemCount + item];
      }
    }
    this.gram = new Float64Array(this.patternCount * this.patternCount);
    gramOfFactor(this.transposedPatterns, this.itemCount, this.patternCount, this.gram, new Float64Array(this.transposedPatterns.length));
  }

  /** Finds the non-negative weights of each context, returned as contexts × patterns. */
  projectContexts(contexts: ProjectionContexts): DenseMatrix {
    const matrix = this.toContextMatrix(contexts);
    const k = this.patternCount;
    const contextCount = matrix.rowCount;

    // b = x Gᵀ for every context at once. A binary batch is read sparsely.
    const correlations = new Float64Array(contextCount * k);
    new DataMatrixProducts(matrix).multiplyByTransposedH(this.transposedPatterns, k, correlations);
    const squaredNorms = rowSquaredNorms(matrix);

    const weights = new Float32Array(contextCount * k);
    const rhs = new Float64Array(k);
    const solution = new Float64Array(k);
    for (let row = 0; row < contextCount; row++) {
      rhs.set(correlations.subarray(row * k, (row + 1) * k));
      if (this.method === 'active-set') {
        solveNonNegativeLeastSquares(this.gram, rhs, k, solution);
      } else {
        this.solveMultiplicative(rhs, squaredNorms[row], solution);
      }
      weights.set(solution, row * k);
    }
    return createDenseMatrix(weights, contextCount, k);
  }

  /**
   * Computes the scores w G of each row of weights (contexts × patterns), over all items or
   * over the given candidate items in their given order.
   */
  scoreWeights(weights: DenseMatrix, candidates?: ArrayLike<number>): DenseMatrix {
    validateDenseShape(weights, 'weight matrix');
    if (weights.columnCount !== this.patternCount) {
      throw new RangeError(
        `The weight matrix has ${weights.columnCount} columns but there are ${this.patternCount} patterns. ` +
          'Pass weights returned by projectContexts of the same projector.',
      );
    }

    const k = this.patternCount;
    const items = candidates === undefined ? null : checkedCandidates(candidates, this.itemCount);
    const scoredCount = items === null ? this.itemCount : items.length;
    const scores = new Float32Array(weights.rowCount * scoredCount);

    for (let row = 0; row < weights.rowCount; row++) {
      const weightOffset = row * k;
      for (let position = 0; position < scoredCount; position++) {
        const item = items === null ? position : items[position];
        const patternOffset = item * k;
        let total = 0;
        for (let a = 0; a < k; a++) total += weights.values[weightOffset + a] * this.transposedPatterns[patternOffset + a];
        scores[row * scoredCount + position] = total;
      }
    }
    return createDenseMatrix(scores, weights.rowCount, scoredCount);
  }

  /** Projects the contexts and scores them, over all items or over the candidate items. */
  scoreContexts(contexts: ProjectionContexts, candidates?: ArrayLike<number>): ProjectedScores {
    const weights = this.projectContexts(contexts);
    return { weights, scores: this.scoreWeights(weights, candidates) };
  }

  private toContextMatrix(contexts: ProjectionContexts): FactorizationInput {
    if (Array.isArray(contexts)) return createBinaryMatrix(contexts, this.itemCount);

    const matrix = contexts as FactorizationInput;
    if (matrix.kind === 'binary') {
      validateBinaryMatrix(matrix, 'context matrix');
    } else {
      validateDenseShape(matrix, 'context matrix');
      validateNonNegativeEntries(matrix, 'context matrix');
    }
    if (matrix.columnCount !== this.itemCount) {
      throw new RangeError(
        `The context matrix has ${matrix.columnCount} columns but the patterns cover ${this.itemCount} items. ` +
          'Pass contexts over the same item catalog as the patterns.',
      );
    }
    return matrix;
  }

  /**
   * Runs w ← w ⊙ b / (w G Gᵀ) from the best uniform weight vector, until the squared residual
   * ||x||² − 2 bᵀw + wᵀ G Gᵀ w stops falling by more than the tolerance.
   */
  private solveMultiplicative(rhs: Float64Array, squaredNorm: number, solution: Float64Array): void {
    const k = this.patternCount;
    const gram = this.gram;

    // The uniform start c · 1 with c = Σ b / Σ G Gᵀ minimizes the residual along that direction.
    let rhsSum = 0;
    let gramSum = 0;
    for (let a = 0; a < k; a++) rhsSum += rhs[a];
    for (let index = 0; index < gram.length; index++) gramSum += gram[index];
    solution.fill(gramSum > 0 ? rhsSum / gramSum : 0);

    const gradientPart = new Float64Array(k);
    let residual = squaredResidual(squaredNorm, rhs, gram, solution, k, gradientPart);
    for (let iteration = 0; iteration < this.maxIterations; iteration++) {
      for (let a = 0; a < k; a++) {
        solution[a] = gradientPart[a] > 0 ? (solution[a] * rhs[a]) / gradientPart[a] : 0;
      }

      const next = squaredResidual(squaredNorm, rhs, gram, solution, k, gradientPart);
      const stop = residual - next <= this.tolerance * residual;
      residual = next;
      if (stop) break;
    }
  }
}

/**
 * Returns ||x − w G||² = ||x||² − 2 bᵀ w + wᵀ Q w, and leaves Q w in `gramTimesWeights`
 * for the next update.
 */
function squaredResidual(
  squaredNorm: number,
  rhs: Float64Array,
  gram: Float64Array,
  weights: Float64Array,
  k: number,
  gramTimesWeights: Float64Array,
): number {
  let linear = 0;
  let quadratic = 0;
  for (let a = 0; a < k; a++) {
    let total = 0;
    for (let b = 0; b < k; b++) total += gram[a * k + b] * weights[b];
    gramTimesWeights[a] = total;
    linear += rhs[a] * weights[a];
    quadratic += weights[a] * total;
  }
  return Math.max(squaredNorm - 2 * linear + quadratic, 0);
}

function rowSquaredNorms(matrix: FactorizationInput): Float64Array {
  const norms = new Float64Array(matrix.rowCount);
  if (matrix.kind === 'binary') {
    for (let row = 0; row < matrix.rowCount; row++) norms[row] = matrix.rowPointers[row + 1] - matrix.rowPointers[row];
    return norms;
  }

  for (let row = 0; row < matrix.rowCount; row++) {
    let total = 0;
    for (let column = 0; column < matrix.columnCount; column++) {
      const value = matrix.values[row * matrix.columnCount + column];
      total += value * value;
    }
    norms[row] = total;
  }
  return norms;
}

function checkedCandidates(candidates: ArrayLike<number>, itemCount: number): ArrayLike<number> {
  for (let position = 0; position < candidates.length; position++) {
    const item = candidates[position];
    if (!Number.isInteger(item) || item < 0 || item >= itemCount) {
      throw new RangeError(
        `Candidate item ${item} at position ${position} is outside 0..${itemCount - 1}. ` +
          `Pass integer item indices below the item count ${itemCount}.`,
      );
    }
  }
  return candidates;
}
