// The `data split` command: partitions a dataset's users over client data files, seeded, so
// that a coordinator and several clients can be tried by hand on one machine.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { DATASET_CATALOG, buildDataset, findCatalogDataset, formatInteractionsCsv, loadInteractions, locateDataset, resolveCacheFolder } from '@distillate/shared';
import { Command } from 'commander';

import { DEFAULT_PARTITION, type PartitionScheme, partitionUsers } from './user-partition.js';

interface SplitOptions {
  clients: string;
  out: string;
  partition: string;
  seed: string;
  cache?: string;
}

export function dataSplitCommand(): Command {
  return new Command('split')
    .description("Write one CSV file of interactions per client, with the dataset's users partitioned over the clients (seeded).")
    .argument('<dataset>', 'dataset id, as `distillate data list` prints it, or a MovieLens folder or CSV/TSV file')
    .option('--clients <count>', 'number of client files', '2')
    .option('--out <folder>', 'folder that receives client-1.csv, client-2.csv, ...', 'clients')
    .option('--partition <scheme>', `iid, or dirichlet for clients skewed by user activity (concentration ${DEFAULT_PARTITION.concentration})`, 'iid')
    .option('--seed <integer>', 'seed of the partition', '1')
    .option('--cache <folder>', 'cache folder of downloaded datasets (default: as `distillate data list` prints it)')
    .action(async (source: string, options: SplitOptions) => {
      const clients = Number(options.clients);
      if (!Number.isInteger(clients) || clients < 1) throw new Error(`--clients is "${options.clients}"; expected an integer of at least 1.`);
      const seed = Number(options.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed is "${options.seed}"; expected an integer.`);
      if (options.partition !== 'iid' && options.partition !== 'dirichlet') {
        throw new Error(`--partition is "${options.partition}"; expected iid or dirichlet.`);
      }

      const dataset = buildDataset(await loadInteractions(await datasetPath(source, options.cache)));
      if (clients > dataset.users.length) {
        throw new Error(`--clients is ${clients}, but ${source} has only ${dataset.users.length} users; every client needs at least one.`);
      }
      const partition = partitionUsers(dataset, {
        ...DEFAULT_PARTITION,
        scheme: options.partition as PartitionScheme,
        clients,
        minUsersPerClient: Math.min(DEFAULT_PARTITION.minUsersPerClient, Math.floor(dataset.users.length / clients)),
        seed,
      });

      await mkdir(options.out, { recursive: true });
      for (const [index, userIndices] of partition.entries()) {
        const file = path.join(options.out, `client-${index + 1}.csv`);
        await writeFile(file, formatInteractionsCsv(dataset, userIndices.map((user) => dataset.users[user])));
        console.log(`${file}: ${userIndices.length} users`);
      }
    });
}

/** Returns the folder of a catalog dataset (built in or downloaded), or the source itself when it is not a catalog id. */
async function datasetPath(source: string, cacheOption: string | undefined): Promise<string> {
  if (!DATASET_CATALOG.some((entry) => entry.id === source)) return source;
  const dataset = findCatalogDataset(source);
  const location = await locateDataset(dataset, resolveCacheFolder(cacheOption));
  if (location.state !== 'built-in' && location.state !== 'cached') {
    throw new Error(`Dataset ${source} is not downloaded or is incomplete. Run \`distillate data download ${source}\` first.`);
  }
  return location.folder;
}
