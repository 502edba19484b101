// The main job: a federated distillation run on real data, end to end, with its references.
//
// 1. Load the dataset and split every user leave-one-out.
// 2. Partition the users over the clients (seeded, non-IID) and write one data file per client.
// 3. Run the coordinator and the clients as separate processes over socket.io on 127.0.0.1.
// 4. Train the references: popularity, each client alone (local), all data pooled (central).
// 5. Write report.json and report.md to runs/<timestamp>/ and return the report.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings } from '@distillate/client';
import type { CoordinatorConfig } from '@distillate/server';
import { buildDataset, formatInteractionsCsv, loadInteractions, splitLeaveOneOut } from '@distillate/shared';

import { evaluatePopularity, sumEvaluations, trainStudentBaselines } from './baselines.js';
import { runFederation } from './federation-run.js';
import { type MethodResult, type RunReport, gapClosed, methodResult, writeReport } from './report.js';
import { createOutputFolder } from './output-folder.js';
import { RunProgress } from './run-progress.js';
import { type PartitionScheme, partitionUsers } from './user-partition.js';

export interface MainJobOptions {
  datasetPath: string;
  clients: number;
  rounds: number;
  seed: number;
  outputDirectory: string;
  partition: PartitionScheme;
  concentration: number;
  /** Most epochs of the local and central references; validation picks the epoch. */
  baselineMaxEpochs: number;
  fedpdd: FedPddSettings;
  coordinator: Partial<CoordinatorConfig>;
  command: string;
  /** Print no progress. Default: false. */
  quiet?: boolean;
}

/** Settings of the main job when no option is given. */
export const MAIN_JOB_FEDPDD_SETTINGS: FedPddSettings = {
  ...DEFAULT_FEDPDD_SETTINGS,
  warmupEpochs: 60,
  localEpochs: 2,
  finalEpochs: 2,
};

export const MAIN_JOB_COORDINATOR_SETTINGS: Partial<CoordinatorConfig> = {
  probesPerRound: 512,
  candidatesPerRound: 1024,
  aggregation: 'evidence-weighted',
};

export async function runMainJob(options: MainJobOptions): Promise<{ report: RunReport; files: { json: string; markdown: string } }> {
  const started = Date.now();
  const progress = new RunProgress(options.quiet ?? false);

  const table = await loadInteractions(options.datasetPath);
  const dataset = buildDataset(table);
  const splits = splitLeaveOneOut(dataset, options.seed);
  const evaluatedUsers = splits.filter((split) => split.test >= 0).length;
  progress.message(
    `Dataset ${options.datasetPath}: ${dataset.users.length} users, ${dataset.itemIds.length} items, ` +
      `${dataset.interactionCount} interactions.`,
  );

  // Partition before creating the run folder, so that an impossible partition leaves no empty folder behind.
  const partition = partitionUsers(dataset, {
    clients: options.clients,
    scheme: options.partition,
    concentration: options.concentration,
    minUsersPerClient: 10,
    seed: options.seed,
  });
  const runDirectory = await createRunDirectory(options.outputDirectory, started);
  const clientDataFiles = await Promise.all(
    partition.map(async (userIndices, index) => {
      const file = path.join(runDirectory, 'clients', `client-${index + 1}.csv`);
      await writeFile(file, formatInteractionsCsv(dataset, userIndices.map((user) => dataset.users[user])));
      return file;
    }),
  );
  const allDataFile = path.join(runDirectory, 'clients', 'all.csv');
  await writeFile(allDataFile, formatInteractionsCsv(dataset, dataset.users));
  progress.message(
    `${options.clients} clients (${options.partition} partition), users per client: ${partition.map((users) => users.length).join(', ')}. ` +
      `${options.rounds} rounds, seed ${options.seed}. Run folder: ${runDirectory}`,
  );

  const coordinator = { ...options.coordinator, rounds: options.rounds, seed: options.seed };
  const federation = await runFederation({
    runDirectory,
    itemIds: dataset.itemIds,
    clientDataFiles,
    coordinator,
    fedpdd: options.fedpdd,
    seed: options.seed,
    onProgress: (state) => progress.federation(state),
  });

  const studentSettings = {
    itemIds: dataset.itemIds,
    student: options.fedpdd.student,
    training: options.fedpdd.training,
    maxEpochs: options.baselineMaxEpochs,
    seed: options.seed,
  };
  const jobs = [
    { name: 'central', dataFile: allDataFile },
    ...clientDataFiles.map((dataFile, index) => ({ name: `local-${index + 1}`, dataFile })),
  ];
  const students = await trainStudentBaselines(jobs, studentSettings, (finished, total) => progress.baselines(finished, total));
  progress.finishLine();

  const reports = federation.clients.map((client) => client.report);
  const mean = (values: number[]) => values.reduce((total, value) => total + value, 0) / Math.max(values.length, 1);
  const popularity = {
    test: evaluatePopularity(splits, dataset.itemIds.length, options.seed, 'test'),
    validation: evaluatePopularity(splits, dataset.itemIds.length, options.seed, 'validation'),
  };
  const locals = students.slice(1);
  // The coordinator lists the reports in client id order, so their sums repeat exactly.
  const evaluations = Object.values(federation.results.reports);
  const results: MethodResult[] = [
    methodResult('popularity', 'items ranked by their training count over all clients; ignores the context', popularity),
    methodResult('local', "each client's student trained on its own users only", {
      test: sumEvaluations(locals, 'test'),
      validation: sumEvaluations(locals, 'validation'),
    }),
    methodResult(
      'fedpdd',
      'federated double distillation over the encrypted transport',
      {
        test: sumEvaluations(evaluations, 'test'),
        validation: sumEvaluations(evaluations, 'validation'),
        finalStudentValidation: sumEvaluations(evaluations, 'finalStudentValidation'),
      },
      { sent: mean(reports.map((report) => report.bytesSent)), received: mean(reports.map((report) => report.bytesReceived)) },
    ),
    methodResult('central', 'one student trained on all users pooled (upper reference)', students[0]),
  ];

  const report: RunReport = {
    createdAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    command: options.command,
    dataset: {
      path: options.datasetPath,
      users: dataset.users.length,
      items: dataset.itemIds.length,
      interactions: dataset.interactionCount,
      evaluatedUsers,
    },
    settings: { clients: options.clients, rounds: options.rounds, seed: options.seed, baselineMaxEpochs: options.baselineMaxEpochs, coordinator, fedpdd: options.fedpdd },
    partition: { scheme: options.partition, concentration: options.concentration, usersPerClient: partition.map((users) => users.length) },
    results,
    gapClosedFullNdcg10: gapClosed(results),
    rounds: federation.results.rounds,
    clients: federation.clients.map((client, index) => ({
      clientId: client.clientId,
      users: partition[index].length,
      bytesSent: client.report.bytesSent,
      bytesReceived: client.report.bytesReceived,
      bestRound: client.report.bestRound,
      localBestEpoch: students[index + 1].bestEpoch,
    })),
  };
  return { report, files: await writeReport(runDirectory, report) };
}

/** Creates <output>/<timestamp>/clients and returns <output>/<timestamp>. */
async function createRunDirectory(outputDirectory: string, started: number): Promise<string> {
  const runDirectory = path.join(outputDirectory, new Date(started).toISOString().replace(/[:.]/g, '-'));
  await createOutputFolder(path.join(runDirectory, 'clients'), outputDirectory);
  return runDirectory;
}
