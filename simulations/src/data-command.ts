// The `data` command: lists the datasets in the catalog, downloads them into a cache folder with
// SHA-256 verification, and prints the folder of one, for `--dataset` or a scenario file.
import {
  type CatalogDataset,
  DATASET_CATALOG,
  type DatasetDownloadResult,
  type DatasetLocation,
  DEFAULT_IDLE_TIMEOUT_MS,
  describeChecksumFailure,
  downloadDataset,
  findCatalogDataset,
  locateDataset,
  resolveCacheFolder,
} from '@distillate/shared';
import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';

import { dataSplitCommand } from './data-split-command.js';

const CACHE_OPTION_HELP =
  'folder that receives downloaded datasets, one sub-folder per dataset id ' +
  '(default: $DISTILLATE_CACHE if set, else $XDG_CACHE_HOME/distillate, else ~/.cache/distillate)';

interface CacheOptions {
  cache?: string;
}

interface DownloadOptions extends CacheOptions {
  url?: string;
  force: boolean;
  timeout: number;
}

/** Builds the command. `catalog` replaces the built-in catalog, for tests. */
export function dataCommand(catalog: readonly CatalogDataset[] = DATASET_CATALOG): Command {
  return new Command('data')
    .description(
      'List, download and locate datasets. Downloads are verified with SHA-256 checksums and kept in a cache folder.',
    )
    .addCommand(listCommand(catalog))
    .addCommand(downloadCommand(catalog))
    .addCommand(pathCommand(catalog))
    .addCommand(dataSplitCommand());
}

function listCommand(catalog: readonly CatalogDataset[]): Command {
  return new Command('list')
    .description('List every known dataset: id, name, size, licence, and whether it is built in or already downloaded.')
    .option('--cache <folder>', CACHE_OPTION_HELP)
    .option('--json', 'print a JSON array instead of text', false)
    .action(async (options: CacheOptions & { json: boolean }) => {
      const cacheFolder = resolveCacheFolder(options.cache);
      const rows = [];
      for (const dataset of catalog) rows.push({ dataset, location: await locateDataset(dataset, cacheFolder) });

      if (options.json) {
        const entries = rows.map(({ dataset, location }) => ({
          id: dataset.id,
          name: dataset.name,
          size: dataset.size,
          licence: dataset.licence,
          builtIn: dataset.builtInFolder !== null,
          state: location.state,
          folder: location.folder,
          archiveUrl: dataset.archiveUrl,
        }));
        console.log(JSON.stringify(entries, null, 2));
        return;
      }

      console.log(`Cache folder: ${cacheFolder}`);
      for (const { dataset, location } of rows) {
        console.log('');
        console.log(`${dataset.id}  ${dataset.name}`);
        console.log(`  size      ${dataset.size}`);
        console.log(`  licence   ${dataset.licence}`);
        console.log(`  built in  ${dataset.builtInFolder === null ? 'no' : `yes, at ${dataset.builtInFolder}`}`);
        console.log(`  cached    ${describeCacheState(dataset, location, options.cache)}`);
      }
    });
}

function describeCacheState(dataset: CatalogDataset, location: DatasetLocation, cacheOption: string | undefined): string {
  switch (location.state) {
    case 'built-in':
      return 'not needed';
    case 'cached':
      return `yes, at ${location.folder}`;
    case 'missing':
      return `no: run \`${downloadCommandLine(dataset.id, cacheOption)}\``;
    case 'invalid':
      return dataset.builtInFolder === null
        ? `incomplete or changed, at ${location.folder}: run \`${downloadCommandLine(dataset.id, cacheOption)}\``
        : `the built-in copy is incomplete or changed: restore ${location.folder} from the repository`;
  }
}

function downloadCommand(catalog: readonly CatalogDataset[]): Command {
  return new Command('download')
    .description(
      'Download a dataset archive, extract the files the dataset keeps into the cache folder, and verify ' +
        'the SHA-256 checksum of each. A dataset already in the cache and intact is not downloaded again.',
    )
    .argument('<id>', 'dataset id, as `distillate data list` prints it')
    .option('--cache <folder>', CACHE_OPTION_HELP)
    .option('--url <url>', "archive URL to download from, such as a mirror with the same layout (default: the dataset's URL in the catalog)")
    .option('--force', 'download and verify again even when an intact copy is in the cache', false)
    .option(
      '--timeout <seconds>',
      'seconds without any data from the server before the download fails',
      positiveSeconds,
      DEFAULT_IDLE_TIMEOUT_MS / 1000,
    )
    .action(async (id: string, options: DownloadOptions) => {
      const dataset = findCatalogDataset(id, catalog);
      const result = await downloadWithProgress(dataset, options);
      console.log(describeDownloadResult(dataset, result));
    });
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError(`expected a positive number of seconds; got "${value}".`);
  }
  return seconds;
}

/**
 * Runs the download with a progress bar on a terminal, and prints nothing while it runs when
 * stdout is not a terminal. Ctrl+C stops the download and deletes its partial files.
 */
async function downloadWithProgress(dataset: CatalogDataset, options: DownloadOptions): Promise<DatasetDownloadResult> {
  const interactive = Boolean(process.stdout.isTTY);
  let bar = null as SingleBar | null;

  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error(`Download of ${dataset.id} interrupted; its partial files were deleted.`));
  process.once('SIGINT', interrupt);

  try {
    return await downloadDataset(dataset, {
      cacheFolder: resolveCacheFolder(options.cache),
      url: options.url,
      force: options.force,
      idleTimeoutMs: options.timeout * 1000,
      signal: controller.signal,
      onProgress: (receivedBytes, totalBytes) => {
        if (!interactive) return;
        if (bar === null) {
          const format =
            totalBytes === null
              ? `${dataset.id} {received} MB`
              : `${dataset.id} [{bar}] {percentage}% {received} of {total_mb} MB`;
          bar = new SingleBar({ format, hideCursor: true }, Presets.shades_classic);
          bar.start(totalBytes ?? 0, 0, { received: '0.0', total_mb: formatMegabytes(totalBytes ?? 0) });
        }
        bar.update(receivedBytes, { received: formatMegabytes(receivedBytes) });
      },
      onStage: (stage) => {
        if (!interactive || stage === 'downloading') return;
        bar?.stop();
        bar = null;
        if (stage === 'extracting') console.log(`Extracting and verifying ${countFiles(dataset)}...`);
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', interrupt);
  }
}

function describeDownloadResult(dataset: CatalogDataset, result: DatasetDownloadResult): string {
  switch (result.outcome) {
    case 'built-in':
      return `${dataset.id} is built in, so it is never downloaded. Folder: ${result.folder}`;
    case 'cached':
      return (
        `${dataset.id} is already in the cache and passes SHA-256 verification (${countFiles(dataset)}); ` +
        `pass --force to download it again. Folder: ${result.folder}`
      );
    case 'downloaded':
      return (
        `Downloaded ${dataset.id} (${formatSize(result.archiveBytes)}) from ${result.url} and verified ` +
        `${countFiles(dataset)} with SHA-256. Folder: ${result.folder}`
      );
  }
}

function pathCommand(catalog: readonly CatalogDataset[]): Command {
  return new Command('path')
    .description(
      'Print the folder of a built-in or downloaded dataset, after checking its files against their SHA-256 checksums. ' +
        'Pass it to --dataset or to a scenario file.',
    )
    .argument('<id>', 'dataset id, as `distillate data list` prints it')
    .option('--cache <folder>', CACHE_OPTION_HELP)
    .action(async (id: string, options: CacheOptions) => {
      const dataset = findCatalogDataset(id, catalog);
      const cacheFolder = resolveCacheFolder(options.cache);
      const location = await locateDataset(dataset, cacheFolder);

      if (location.state === 'missing' && dataset.builtInFolder === null) {
        throw new Error(
          `Dataset ${id} is not in the cache folder ${cacheFolder}. ` +
            `Run \`${downloadCommandLine(id, options.cache)}\` first.`,
        );
      }
      if (location.state === 'missing' || location.state === 'invalid') {
        const problems = location.state === 'invalid' ? location.failures.map(describeChecksumFailure).join('; ') : 'folder missing';
        const fix =
          dataset.builtInFolder === null
            ? `Run \`${downloadCommandLine(id, options.cache)}\` to download it again.`
            : `Restore it from the repository, for example with \`git checkout -- ${location.folder}\`.`;
        throw new Error(`Dataset ${id} in ${location.folder} is incomplete or changed (${problems}). ${fix}`);
      }

      console.log(location.folder);
    });
}

/** Returns the download command line for a dataset, with --cache when the user passed one. */
function downloadCommandLine(id: string, cacheOption: string | undefined): string {
  const cache = cacheOption === undefined ? '' : ` --cache ${quoteForShell(cacheOption)}`;
  return `distillate data download ${id}${cache}`;
}

function quoteForShell(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function countFiles(dataset: CatalogDataset): string {
  return dataset.files.length === 1 ? '1 file' : `${dataset.files.length} files`;
}

/** Formats bytes in kB below one megabyte and in MB above, with decimal units (1 MB = 10^6 bytes). */
function formatSize(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${formatMegabytes(bytes)} MB`;
}

/** Formats bytes as megabytes (10^6 bytes) with one decimal. */
function formatMegabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
