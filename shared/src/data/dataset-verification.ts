// SHA-256 verification of a dataset's files against the checksums in its catalog entry.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { CatalogDataset } from './dataset-catalog.js';

/** A kept file whose bytes differ from the catalog, or that is missing (`actualSha256` null). */
export interface FileChecksumFailure {
  name: string;
  path: string;
  expectedSha256: string;
  actualSha256: string | null;
}

/** Returns the lower-case hexadecimal SHA-256 of a file, read as a stream. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Hashes every file that the dataset keeps in `folder` and returns those that are missing or
 * differ from the catalog. An empty list means that the folder is complete and intact.
 */
export async function verifyDatasetFiles(
  dataset: CatalogDataset,
  folder: string,
): Promise<FileChecksumFailure[]> {
  const failures: FileChecksumFailure[] = [];
  for (const file of dataset.files) {
    const filePath = path.join(folder, file.name);
    const actualSha256 = await sha256OfFile(filePath).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (actualSha256 !== file.sha256) {
      failures.push({ name: file.name, path: filePath, expectedSha256: file.sha256, actualSha256 });
    }
  }
  return failures;
}

/** Formats one failure as `name: expected SHA-256 X, got Y` (or `..., file missing`). */
export function describeChecksumFailure(failure: FileChecksumFailure): string {
  const actual = failure.actualSha256 === null ? 'file missing' : `got ${failure.actualSha256}`;
  return `${failure.name}: expected SHA-256 ${failure.expectedSha256}, ${actual}`;
}

/** Files of a fresh download that do not match the catalog; names each file and both digests. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly datasetId: string,
    readonly url: string,
    readonly failures: readonly FileChecksumFailure[],
  ) {
    super(
      `Checksum mismatch in the ${datasetId} archive downloaded from ${url}:\n` +
        failures.map((failure) => `  ${describeChecksumFailure(failure)}\n`).join('') +
        'The downloaded files were deleted. Run the download again. If the mismatch repeats, the ' +
        'archive at that URL is not the release that Distillate verifies: pass --url with the ' +
        'address of an unchanged copy of the original archive.',
    );
    this.name = 'ChecksumMismatchError';
  }
}
