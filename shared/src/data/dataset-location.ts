// Location of a catalog dataset on this machine, checked against its SHA-256 checksums.
import { stat } from 'node:fs/promises';

import { cachedDatasetFolder } from './dataset-cache-folder.js';
import type { CatalogDataset } from './dataset-catalog.js';
import { type FileChecksumFailure, verifyDatasetFiles } from './dataset-verification.js';

/**
 * State and folder of a dataset. The state is `built-in` (shipped in the repository), `cached`
 * (downloaded and intact), `missing` or `invalid` (some files are missing or changed). For a
 * missing dataset, `folder` is where a download would put it.
 */
export type DatasetLocation =
  | { state: 'built-in'; folder: string }
  | { state: 'cached'; folder: string }
  | { state: 'missing'; folder: string }
  | { state: 'invalid'; folder: string; failures: FileChecksumFailure[] };

/** Finds a dataset in the repository or in the cache folder, hashing every file it keeps. */
export async function locateDataset(dataset: CatalogDataset, cacheFolder: string): Promise<DatasetLocation> {
  const folder = dataset.builtInFolder ?? cachedDatasetFolder(cacheFolder, dataset.id);

  const info = await stat(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (info === null) return { state: 'missing', folder };

  const failures = info.isDirectory()
    ? await verifyDatasetFiles(dataset, folder)
    : dataset.files.map((file) => ({ name: file.name, path: folder, expectedSha256: file.sha256, actualSha256: null }));
  if (failures.length > 0) return { state: 'invalid', folder, failures };

  return { state: dataset.builtInFolder === null ? 'cached' : 'built-in', folder };
}
