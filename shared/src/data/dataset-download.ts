// Download of a catalog dataset into the cache folder. Everything happens in a staging folder
// named `.<id>.partial-XXXXXX` inside the cache folder: the archive is downloaded and extracted
// there, the kept files are verified against their SHA-256 checksums, and only then is the
// dataset's folder renamed to `<cache>/<id>`. An interrupted or failed download therefore never
// leaves a folder under the dataset's own name.
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';

import { cachedDatasetFolder } from './dataset-cache-folder.js';
import type { CatalogDataset } from './dataset-catalog.js';
import { locateDataset } from './dataset-location.js';
import { ChecksumMismatchError, describeChecksumFailure, verifyDatasetFiles } from './dataset-verification.js';
import { downloadToFile, parseDownloadUrl } from './http-download.js';
import { extractZipEntries } from './zip-extraction.js';

export type DatasetDownloadStage = 'downloading' | 'extracting' | 'verifying';

export interface DatasetDownloadOptions {
  cacheFolder: string;
  /** Archive URL in place of the catalog's, such as a mirror; the archive layout and checksums must be the same. */
  url?: string;
  /** Download even when an intact copy is in the cache, and replace that copy. */
  force?: boolean;
  /** Called when the download moves to its next stage. */
  onStage?: (stage: DatasetDownloadStage) => void;
  /** Called after each chunk of the archive with the bytes received and the total, if known. */
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void;
  /** Milliseconds without any byte from the server before the download fails. Default 60,000. */
  idleTimeoutMs?: number;
  /** Stops the download and deletes its staging folder; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface DatasetDownloadResult {
  /** `built-in`: shipped in the repository; `cached`: an intact copy was already in the cache; `downloaded`: fetched now. */
  outcome: 'built-in' | 'cached' | 'downloaded';
  folder: string;
  /** Archive URL, when the dataset was downloaded. */
  url: string | null;
  /** Size of the downloaded archive in bytes, 0 when nothing was downloaded. */
  archiveBytes: number;
}

/**
 * Makes a dataset available on this machine and returns its folder. A built-in dataset is never
 * downloaded, and neither is one whose cached copy passes verification, unless `force` is set.
 */
export async function downloadDataset(
  dataset: CatalogDataset,
  options: DatasetDownloadOptions,
): Promise<DatasetDownloadResult> {
  const location = await locateDataset(dataset, options.cacheFolder);
  if (location.state === 'built-in') {
    return { outcome: 'built-in', folder: location.folder, url: null, archiveBytes: 0 };
  }
  if (dataset.builtInFolder !== null) {
    const problems = location.state === 'invalid' ? location.failures.map(describeChecksumFailure).join('; ') : 'folder missing';
    throw new Error(
      `The built-in dataset ${dataset.id} in ${location.folder} is incomplete or changed (${problems}). ` +
        `Restore it from the repository, for example with \`git checkout -- ${location.folder}\`.`,
    );
  }
  if (location.state === 'cached' && options.force !== true) {
    return { outcome: 'cached', folder: location.folder, url: null, archiveBytes: 0 };
  }

  const url = options.url ?? dataset.archiveUrl;
  parseDownloadUrl(url);

  await mkdir(options.cacheFolder, { recursive: true });
  // NOTE: a process killed outright (SIGKILL, power loss) leaves its staging folder behind. The
  // folder never passes for a dataset, but nothing deletes it later.
  const staging = await mkdtemp(path.join(options.cacheFolder, `.${dataset.id}.partial-`));
  try {
    options.onStage?.('downloading');
    const archive = path.join(staging, 'archive.zip');
    const archiveBytes = await downloadToFile(url, archive, {
      onProgress: options.onProgress,
      idleTimeoutMs: options.idleTimeoutMs,
      signal: options.signal,
    });

    options.signal?.throwIfAborted();
    options.onStage?.('extracting');
    const extractedFolder = path.join(staging, dataset.id);
    await mkdir(extractedFolder);
    await extractKeptFiles(dataset, archive, extractedFolder, url);

    options.signal?.throwIfAborted();
    options.onStage?.('verifying');
    const failures = await verifyDatasetFiles(dataset, extractedFolder);
    if (failures.length > 0) throw new ChecksumMismatchError(dataset.id, url, failures);

    const folder = cachedDatasetFolder(options.cacheFolder, dataset.id);
    await replaceFolder(folder, extractedFolder, path.join(staging, 'previous'));
    return { outcome: 'downloaded', folder, url, archiveBytes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Extracts the files the dataset keeps, and fails with the names of any the archive lacks. */
async function extractKeptFiles(dataset: CatalogDataset, archive: string, folder: string, url: string): Promise<void> {
  const destinations = new Map(
    dataset.files.map((file) => [`${dataset.archiveFolder}/${file.name}`, path.join(folder, file.name)]),
  );
  const extracted = await extractZipEntries(archive, destinations).catch((error: Error) => {
    throw new Error(
      `${error.message} The file was downloaded from ${url} and has been deleted. Run the download again, ` +
        'or check that --url points to the zip archive itself.',
      { cause: error },
    );
  });

  const missing = [...destinations.keys()].filter((entry) => !extracted.has(entry));
  if (missing.length > 0) {
    throw new Error(
      `The archive downloaded from ${url} has no ${missing.join(', ')}. A mirror passed with --url ` +
        `must have the layout of the original archive, with the files in a top folder ${dataset.archiveFolder}/.`,
    );
  }
}

/**
 * Puts `replacement` at `target`, moving any existing folder to `parking` first and back again if
 * the final rename fails, so that the target is never left half-replaced.
 */
async function replaceFolder(target: string, replacement: string, parking: string): Promise<void> {
  const hadPrevious = await rename(target, parking).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  try {
    await rename(replacement, target);
  } catch (error) {
    if (hadPrevious) await rename(parking, target);
    throw error;
  }
}
