// The coordinator's step of fedsplit: stack the item patterns that clients uploaded, one client
// after another, and factorize the stack again, stack ≈ A G, to get global item patterns G.
// Clients send their patterns once and receive G once.
import { createDenseMatrix, validateDenseShape, validateNonNegativeEntries, type DenseMatrix } from './dense-matrix.js';
import { factorizeNonNegative } from './nmf.js';

/**
 * Scaling of the uploaded patterns before they are stacked.
 *
 * The split of scale between a client's W and H is arbitrary, and a client with more users
 * tends to upload patterns with larger entries, which would dominate the joint loss.
 * - 'none': stack the patterns as uploaded.
 * - 'rows': scale each pattern to unit Euclidean norm, so that every pattern counts the same.
 * - 'clients': as 'rows', then scale each client's block by 1 / sqrt(its pattern count), so that
 *   every client counts the same however many patterns it uploaded.
 * A pattern that is all zeros stays all zeros.
 */
export type PatternNormalization = 'none' | 'rows' | 'clients';

export const PATTERN_NORMALIZATIONS: readonly PatternNormalization[] = ['none', 'rows', 'clients'];

export interface JointPatternOptions {
  /** Number of global patterns, from 1 to min(stacked patterns, items). */
  rank: number;
  /** Seed of the joint factorization's random start. */
  seed: number | string;
  /** Default 'rows'. */
  normalization?: PatternNormalization;
  /** Maximum iterations of the joint factorization. Default as in factorizeNonNegative. */
  maxIterations?: number;
  /** Relative error change that stops the joint factorization. Default as in factorizeNonNegative. */
  tolerance?: number;
}

export interface JointPatternResult {
  /** The global patterns G, rank × items. */
  patterns: DenseMatrix;
  /** A, stacked patterns × rank: how each uploaded pattern mixes the global ones. */
  loadings: DenseMatrix;
  /** Client c's rows in the stack and in `loadings` are clientRowOffsets[c] to clientRowOffsets[c + 1] − 1. */
  clientRowOffsets: Int32Array;
  /** ||stack − A G||_F, on the normalized stack. */
  reconstructionError: number;
  /** reconstructionError divided by the Frobenius norm of the normalized stack. */
  relativeError: number;
  iterations: number;
  converged: boolean;
}

/**
 * Stacks the clients' pattern matrices (each patterns × items, over the same items) row-wise,
 * in the given order, after the chosen normalization.
 */
export function stackClientPatterns(
  clientPatterns: readonly DenseMatrix[],
  normalization: PatternNormalization = 'rows',
): DenseMatrix {
  if (!PATTERN_NORMALIZATIONS.includes(normalization)) {
    throw new RangeError(
      `Unknown pattern normalization "${String(normalization)}": pass one of ${PATTERN_NORMALIZATIONS.join(', ')}.`,
    );
  }
  if (clientPatterns.length === 0) {
    throw new RangeError('No client patterns to stack: pass the pattern matrix of at least one client.');
  }

  const itemCount = clientPatterns[0].columnCount;
  let totalRows = 0;
  for (let client = 0; client < clientPatterns.length; client++) {
    const patterns = clientPatterns[client];
    validateDenseShape(patterns, `pattern matrix of client ${client}`);
    validateNonNegativeEntries(patterns, `pattern matrix of client ${client}`);
    if (patterns.columnCount !== itemCount) {
      throw new RangeError(
        `The patterns of client ${client} cover ${patterns.columnCount} items but those of client 0 cover ` +
          `${itemCount}. Every client must factorize over the same item catalog.`,
      );
    }
    totalRows += patterns.rowCount;
  }

  const stack = new Float32Array(totalRows * itemCount);
  let rowOffset = 0;
  for (const patterns of clientPatterns) {
    const blockScale = normalization === 'clients' && patterns.rowCount > 0 ? 1 / Math.sqrt(patterns.rowCount) : 1;
    for (let row = 0; row < patterns.rowCount; row++) {
      const source = patterns.values.subarray(row * itemCount, (row + 1) * itemCount);
      const scale = normalization === 'none' ? 1 : blockScale / euclideanNormOrOne(source);
      const target = (rowOffset + row) * itemCount;
      for (let item = 0; item < itemCount; item++) stack[target + item] = source[item] * scale;
    }
    rowOffset += patterns.rowCount;
  }
  return createDenseMatrix(stack, totalRows, itemCount);
}

/**
 * Factorizes the stacked client patterns into `rank` global item patterns G. Any client may
 * upload any number of patterns, as long as all cover the same items.
 */
export function factorizeJointPatterns(
  clientPatterns: readonly DenseMatrix[],
  options: JointPatternOptions,
): JointPatternResult {
  const stack = stackClientPatterns(clientPatterns, options.normalization ?? 'rows');

  const maxRank = Math.min(stack.rowCount, stack.columnCount);
  if (Number.isInteger(options.rank) && options.rank > maxRank) {
    throw new RangeError(
      `Global rank ${options.rank} exceeds min(stacked patterns, items) = min(${stack.rowCount}, ` +
        `${stack.columnCount}) = ${maxRank}. Pass a rank of at most ${maxRank}, or collect patterns from more clients.`,
    );
  }

  const clientRowOffsets = new Int32Array(clientPatterns.length + 1);
  for (let client = 0; client < clientPatterns.length; client++) {
    clientRowOffsets[client + 1] = clientRowOffsets[client] + clientPatterns[client].rowCount;
  }

  const result = factorizeNonNegative(stack, {
    rank: options.rank,
    seed: options.seed,
    maxIterations: options.maxIterations,
    tolerance: options.tolerance,
  });
  return {
    patterns: result.h,
    loadings: result.w,
    clientRowOffsets,
    reconstructionError: result.reconstructionError,
    relativeError: result.relativeError,
    iterations: result.iterations,
    converged: result.converged,
  };
}

function euclideanNormOrOne(values: Float32Array): number {
  let total = 0;
  for (let index = 0; index < values.length; index++) total += values[index] * values[index];
  return total > 0 ? Math.sqrt(total) : 1;
}
