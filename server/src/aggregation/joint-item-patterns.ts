// FedSplit's aggregation (Eren et al., 2022, "FedSPLIT: One-Shot Federated Recommendation System
// Based on Non-negative Joint Matrix Factorization and Knowledge Distillation"): the clients'
// non-negative item patterns, stacked, are factorized once more into global item patterns.
import { createDenseMatrix, factorizeJointPatterns } from '@distillate/shared';

export interface ClientItemPatterns {
  clientId: string;
  /** [rows × itemCount] non-negative patterns, row-major. */
  values: Float32Array;
  rows: number;
}

/**
 * Returns the global patterns [rank × itemCount]. The rank is `rank`, or the number of uploaded
 * patterns when fewer arrived. Negative values, which a client may send, are rejected by name.
 */
export function jointItemPatterns(
  uploads: readonly ClientItemPatterns[],
  itemCount: number,
  options: { rank: number; seed: number },
): { values: Float32Array; shape: { rows: number; columns: number } } {
  for (const upload of uploads) {
    const negative = upload.values.findIndex((value) => value < 0);
    if (negative >= 0) {
      throw new Error(`Client ${upload.clientId} sent item pattern value ${upload.values[negative]} at index ${negative}; patterns must be non-negative.`);
    }
  }

  const stackedRows = uploads.reduce((total, upload) => total + upload.rows, 0);
  const rank = Math.min(options.rank, stackedRows, itemCount);
  const result = factorizeJointPatterns(
    uploads.map((upload) => createDenseMatrix(upload.values, upload.rows, itemCount)),
    { rank, seed: options.seed },
  );
  return { values: result.patterns.values, shape: { rows: result.patterns.rowCount, columns: result.patterns.columnCount } };
}
