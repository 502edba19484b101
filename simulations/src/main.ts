// The command line of the main job: npm start [-- options].
import { BUILT_IN_DATASETS } from '@distillate/shared';
import { Command, InvalidArgumentError } from 'commander';

import { MAIN_JOB_COORDINATOR_SETTINGS, MAIN_JOB_FEDPDD_SETTINGS, runMainJob } from './main-job.js';
import { formatResultsTable } from './report.js';

function integer(name: string, min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}; got "${value}".`);
    return parsed;
  };
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0)) throw new InvalidArgumentError(`expected a positive number; got "${value}".`);
  return parsed;
}

const program = new Command()
  .name('npm start --')
  .description('Run federated distillation (FedPDD) on a dataset with simulated clients, and compare it with popularity, local and central references.')
  .option('--dataset <path>', 'MovieLens folder, or CSV/TSV of user,item[,value][,timestamp]', BUILT_IN_DATASETS['ml-latest-small'])
  .option('--clients <n>', 'number of simulated clients, each a separate process', integer('--clients', 1), 8)
  .option('--rounds <n>', 'rounds of federated distillation', integer('--rounds', 1), 25)
  .option('--seed <n>', 'seed of the split, partition, sampling and initialisation', integer('--seed', 0), 1)
  .option('--partition <scheme>', 'user partition: dirichlet (non-IID by activity level) or iid', 'dirichlet')
  .option('--concentration <alpha>', 'Dirichlet concentration; smaller is more skewed', positiveNumber, 0.5)
  .option('--baseline-epochs <n>', 'most epochs of the local and central references', integer('--baseline-epochs', 1), 60)
  .option('--output <folder>', 'folder that receives one <timestamp>/ folder per run', 'runs')
  .action(async (options) => {
    if (options.partition !== 'dirichlet' && options.partition !== 'iid') {
      throw new InvalidArgumentError(`--partition must be dirichlet or iid; got "${options.partition}".`);
    }
    const { report, files } = await runMainJob({
      datasetPath: options.dataset,
      clients: options.clients,
      rounds: options.rounds,
      seed: options.seed,
      outputDirectory: options.output,
      partition: options.partition,
      concentration: options.concentration,
      baselineMaxEpochs: options.baselineEpochs,
      fedpdd: { ...MAIN_JOB_FEDPDD_SETTINGS, seed: options.seed },
      coordinator: MAIN_JOB_COORDINATOR_SETTINGS,
      command: ['npm start --', ...process.argv.slice(2)].join(' '),
    });

    console.log(`\n${formatResultsTable(report.results)}\n`);
    if (report.gapClosedFullNdcg10 !== null) {
      console.log(`fedpdd closes ${(report.gapClosedFullNdcg10 * 100).toFixed(1)}% of the local-to-central gap on NDCG@10 (full ranking).`);
    }
    const warmupEpochs = MAIN_JOB_FEDPDD_SETTINGS.warmupEpochs;
    if (options.baselineEpochs < warmupEpochs) {
      console.log(
        `Note: --baseline-epochs ${options.baselineEpochs} trains local and central for fewer epochs than the ` +
          `${warmupEpochs} warm-up epochs of each fedpdd client, so the comparison favours fedpdd.`,
      );
    }
    console.log(`Finished in ${report.durationSeconds.toFixed(0)} s. Report: ${files.markdown} and ${files.json}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`\nError: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
