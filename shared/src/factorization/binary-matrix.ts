// A sparse binary matrix in compressed sparse row (CSR) form: the user × item interaction
// matrix of a client, where an entry is 1 when the user interacted with the item in training.

/**
 * The column indices of the ones in row r are `columnIndices[rowPointers[r] .. rowPointers[r + 1])`,
 * sorted ascending and without repeats. Every other entry is 0.
 */
export interface SparseBinaryMatrix {
  readonly kind: 'binary';
  readonly rowCount: number;
  readonly columnCount: number;
  /** rowCount + 1 offsets into columnIndices, starting at 0 and non-decreasing. */
  readonly rowPointers: Int32Array;
  readonly columnIndices: Int32Array;
}

/**
 * Builds the matrix from one list of item indices per row (a user's history) and the item
 * count. Repeated items in a row count once, since the matrix is binary.
 */
export function createBinaryMatrix(rows: readonly ArrayLike<number>[], itemCount: number): SparseBinaryMatrix {
  if (!Number.isInteger(itemCount) || itemCount < 0) {
    throw new RangeError(`Invalid item count ${itemCount}: pass the number of items in the catalog, a non-negative integer.`);
  }

  const rowPointers = new Int32Array(rows.length + 1);
  const sortedRows: Int32Array[] = [];
  for (let row = 0; row < rows.length; row++) {
    const items = Int32Array.from(checkedItemIndices(rows[row], itemCount, row)).sort();
    const distinct = removeRepeats(items);
    sortedRows.push(distinct);
    rowPointers[row + 1] = rowPointers[row] + distinct.length;
  }

  const columnIndices = new Int32Array(rowPointers[rows.length]);
  for (let row = 0; row < rows.length; row++) {
    columnIndices.set(sortedRows[row], rowPointers[row]);
  }
  return { kind: 'binary', rowCount: rows.length, columnCount: itemCount, rowPointers, columnIndices };
}

/** Number of ones in the matrix. */
export function countOnes(matrix: SparseBinaryMatrix): number {
  return matrix.rowPointers[matrix.rowCount];
}

/**
 * Throws unless the CSR arrays are consistent: pointers start at 0, never decrease and end at
 * the number of indices, and each row's indices are strictly ascending and inside the columns.
 */
export function validateBinaryMatrix(matrix: SparseBinaryMatrix, name: string): void {
  const { rowCount, columnCount, rowPointers, columnIndices } = matrix;
  if (!Number.isInteger(rowCount) || rowCount < 0 || !Number.isInteger(columnCount) || columnCount < 0) {
    throw new RangeError(
      `Invalid shape ${rowCount} × ${columnCount} for ${name}: pass non-negative integer row and column counts.`,
    );
  }
  if (rowPointers.length !== rowCount + 1 || rowPointers[0] !== 0 || rowPointers[rowCount] !== columnIndices.length) {
    throw new RangeError(
      `The row pointers of ${name} do not match its ${rowCount} rows and ${columnIndices.length} indices. ` +
        'Build the matrix with createBinaryMatrix.',
    );
  }

  for (let row = 0; row < rowCount; row++) {
    const start = rowPointers[row];
    const end = rowPointers[row + 1];
    if (end < start) {
      throw new RangeError(`The row pointers of ${name} decrease at row ${row}. Build the matrix with createBinaryMatrix.`);
    }
    for (let position = start; position < end; position++) {
      const column = columnIndices[position];
      if (column < 0 || column >= columnCount) {
        throw new RangeError(
          `Item index ${column} in row ${row} of ${name} is outside 0..${columnCount - 1}. ` +
            'Pass item indices below the item count.',
        );
      }
      if (position > start && column <= columnIndices[position - 1]) {
        throw new RangeError(
          `The item indices of row ${row} of ${name} are not strictly ascending at ${column}. ` +
            'Build the matrix with createBinaryMatrix, which sorts and removes repeats.',
        );
      }
    }
  }
}

function checkedItemIndices(items: ArrayLike<number>, itemCount: number, row: number): ArrayLike<number> {
  for (let position = 0; position < items.length; position++) {
    const item = items[position];
    if (!Number.isInteger(item) || item < 0 || item >= itemCount) {
      throw new RangeError(
        `Item index ${item} in row ${row} is outside 0..${itemCount - 1}. ` +
          `Pass integer item indices below the item count ${itemCount}.`,
      );
    }
  }
  return items;
}

function removeRepeats(sorted: Int32Array): Int32Array {
  let distinctCount = 0;
  for (let position = 0; position < sorted.length; position++) {
    if (position === 0 || sorted[position] !== sorted[position - 1]) {
      sorted[distinctCount] = sorted[position];
      distinctCount++;
    }
  }
  return distinctCount === sorted.length ? sorted : sorted.slice(0, distinctCount);
}
