// A dense row-major matrix of 32-bit floats: the form of the factors W and H, of the item
// patterns that clients upload, and of dense inputs to the factorization.

/** A row-major matrix: entry (row, column) is `values[row * columnCount + column]`. */
export interface DenseMatrix {
  readonly kind: 'dense';
  readonly rowCount: number;
  readonly columnCount: number;
  readonly values: Float32Array;
}

/** Wraps `values` (not copied) as a rowCount × columnCount matrix after checking its shape. */
export function createDenseMatrix(values: Float32Array, rowCount: number, columnCount: number): DenseMatrix {
  const matrix: DenseMatrix = { kind: 'dense', rowCount, columnCount, values };
  validateDenseShape(matrix, 'dense matrix');
  return matrix;
}

/** Throws unless the counts are non-negative integers and `values` has rowCount × columnCount entries. */
export function validateDenseShape(matrix: DenseMatrix, name: string): void {
  const { rowCount, columnCount, values } = matrix;
  if (!Number.isInteger(rowCount) || rowCount < 0) {
    throw new RangeError(`Invalid row count ${rowCount} for ${name}: pass a non-negative integer.`);
  }
  if (!Number.isInteger(columnCount) || columnCount < 0) {
    throw new RangeError(`Invalid column count ${columnCount} for ${name}: pass a non-negative integer.`);
  }
  if (values.length !== rowCount * columnCount) {
    throw new RangeError(
      `The ${name} has ${values.length} values but its shape ${rowCount} × ${columnCount} needs ` +
        `${rowCount * columnCount}. Pass a row-major array of exactly rowCount × columnCount values.`,
    );
  }
}

/**
 * Throws on the first entry that is negative, NaN or infinite, naming its row and column,
 * because non-negative factorization is defined only for finite non-negative input.
 */
export function validateNonNegativeEntries(matrix: DenseMatrix, name: string): void {
  const { columnCount, values } = matrix;
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (Number.isFinite(value) && value >= 0) continue;

    const row = Math.floor(index / columnCount);
    const column = index - row * columnCount;
    const problem = Number.isFinite(value) ? 'negative' : 'not finite';
    throw new RangeError(
      `Entry (${row}, ${column}) of the ${name} is ${value}, which is ${problem}. ` +
        'Non-negative factorization needs finite entries of at least 0: clip or drop such values first.',
    );
  }
}
