// Runs a scenario: every federated run over the real coordinator and clients, each as separate
// processes talking socket.io on 127.0.0.1, and the references without a federation, all on
// the same users, partition and seed. Writes the comparison to a folder of the run.
//
// 1. Load the dataset, split every user leave-one-out, and partition the users into clients.
// 2. Check every run's settings before starting any, so a typo in the last run fails at once.
// 3. Run the federations one after another; each writes its logs to its own folder.
// 4. Train the references that the scenario lists.
// 5. Write report.json, report.md and the SVG charts.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { type CoordinatorConfig, type RoundSummary, resolveCoordinatorConfig } from '@distillate/server';
import { buildDataset, clientIdFor, formatInteractionsCsv, identityFromSeed, loadInteractions, splitLeaveOneOut } from '@distillate/shared';

import { FEDERATED_PRESETS, REFERENCE_DESCRIPTIONS, isFederated } from './algorithms.js';
import { type StudentBaselineResult, evaluatePopularity, sumEvaluations, trainStudentBaselines } from './baselines.js';
import { type FederationOutcome, runFederation } from './federation-run.js';
import type { Scenario, ScenarioRun } from './scenario.js';
import { SimulationProgress } from './simulation-progress.js';
import { type RunResult, type SimulationReport, roundSeries, runResult, writeSimulationReport } from './simulation-report.js';
import { createOutputFolder } from './output-folder.js';
import { choosePublicUsers } from './public-users.js';
import { sampleRoundCohort } from './round-cohorts.js';
import { activityLevels, partitionUsers } from './user-partition.js';

/** Time the coordinator of a simulated federation waits for the clients' reports. */
const SIMULATION_REPORT_TIMEOUT_MS = 3_600_000;

export interface SimulationOptions {
  /** Folder that receives one <scenario>-<timestamp>/ folder per simulation. */
  outputDirectory: string;
  command: string;
  quiet?: boolean;
}

export async function runSimulation(
  scenario: Scenario,
  options: SimulationOptions,
): Promise<{ report: SimulationReport; directory: string; files: string[] }> {
  const started = Date.now();
  const progress = new SimulationProgress(options.quiet ?? false);

  try {
    if (!existsSync(scenario.datasetPath)) {
      throw new Error(
        `The scenario's dataset ${scenario.datasetPath} does not exist. Only ml-latest-small ships with Distillate: ` +
          'put the dataset at that path, or change "dataset" in the scenario file.',
      );
    }
    const table = await loadInteractions(scenario.datasetPath);
    const dataset = buildDataset(table);
    const splits = splitLeaveOneOut(dataset, scenario.seed);
    const { setting, clients, assignment, concentration, participation } = scenario.partition;
    const publicChoice = scenario.publicUsers > 0 ? choosePublicUsers(dataset, splits, { fraction: scenario.publicUsers, seed: scenario.seed }) : null;
    const privateUsers = publicChoice?.privateUsers ?? dataset.users.map((_, index) => index);
    const privateSplits = privateUsers.map((user) => splits[user]);
    const partition = partitionUsers(
      dataset,
      { setting, scheme: assignment, clients: setting === 'cross-silo' ? clients : undefined, concentration, minUsersPerClient: 10, seed: scenario.seed },
      privateUsers,
    );
    const clientIds = partition.map((_, index) => clientIdFor(identityFromSeed(simulatedIdentitySeed(scenario.seed, index)).signing.publicKey));
    const roundCohorts =
      participation < 1
        ? Array.from({ length: scenario.rounds }, (_, round) =>
            sampleRoundCohort(
              setting === 'cross-device' ? activityLevels(dataset, partition.map((users) => users[0])) : partition.map(() => 0),
              round + 1,
              { scheme: setting === 'cross-device' ? assignment : 'iid', cohortSize: { fraction: participation }, concentration, seed: scenario.seed },
            ).map((client) => clientIds[client]),
          )
        : null;

    const population = { publicProbes: (publicChoice?.publicHistories ?? []).map((history) => Array.from(history)), roundCohorts };
    for (const run of scenario.runs) {
      if (isFederated(run.algorithm)) resolveCoordinatorConfig({ ...federationSettings(scenario, run, population), itemIds: dataset.itemIds });
    }

    const directory = path.join(options.outputDirectory, `${slug(scenario.name)}-${new Date(started).toISOString().replace(/[:.]/g, '-')}`);
    await createOutputFolder(path.join(directory, 'clients'), options.outputDirectory);
    const privateDataFile = path.join(directory, 'clients', 'private.csv');
    await writeFile(privateDataFile, formatInteractionsCsv(dataset, privateUsers.map((user) => dataset.users[user])));
    // Cross-silo clients run as processes of their own, each reading its file; cross-device clients share one file in a pool.
    const clientDataFiles =
      setting === 'cross-silo'
        ? await Promise.all(
            partition.map(async (users, index) => {
              const file = path.join(directory, 'clients', `client-${index + 1}.csv`);
              await writeFile(file, formatInteractionsCsv(dataset, users.map((user) => dataset.users[user])));
              return file;
            }),
          )
        : [];
    const pool =
      setting === 'cross-device'
        ? {
            dataFile: privateDataFile,
            clients: partition.map((users, index) => ({ index, userIds: users.map((user) => dataset.users[user].userId), identitySeed: simulatedIdentitySeed(scenario.seed, index) })),
            ...scenario.pool,
          }
        : undefined;
    progress.message(
      `Scenario "${scenario.name}": ${dataset.users.length} users (${privateUsers.length} private), ${dataset.itemIds.length} items, ` +
        `${dataset.interactionCount} interactions; ${partition.length} clients (${setting}, ${assignment}), ${participation * 100}% per round; ` +
        `${scenario.runs.length} runs. Folder: ${directory}`,
    );

    const federations = new Map<string, FederationOutcome>();
    const federationSeconds = new Map<string, number>();
    for (const run of scenario.runs.filter((candidate) => isFederated(candidate.algorithm))) {
      const coordinator = federationSettings(scenario, run, population);
      const runDirectory = path.join(directory, slug(run.name));
      await mkdir(runDirectory, { recursive: true });
      const federationStarted = Date.now();
      federations.set(
        run.name,
        await runFederation({
          runDirectory,
          itemIds: dataset.itemIds,
          clientDataFiles,
          coordinator,
          fedpdd: run.learner,
          pool: pool && {
            ...pool,
            clients: pool.clients.map((client) => ({ ...client, settings: run.clientLearners?.[client.index % run.clientLearners.length] })),
          },
          clientSettings: run.clientLearners && clientDataFiles.map((_, index) => run.clientLearners![index % run.clientLearners!.length]),
          algorithm: run.algorithm,
          seed: scenario.seed,
          onProgress: progress.federation(run.name, coordinator.rounds ?? scenario.rounds),
        }),
      );
      federationSeconds.set(run.name, (Date.now() - federationStarted) / 1000);
    }

    const localJobs = partition.map((users, index) =>
      setting === 'cross-silo'
        ? { name: `local-${index + 1}`, dataFile: clientDataFiles[index] }
        : { name: `local-${index + 1}`, dataFile: privateDataFile, userIds: users.map((user) => dataset.users[user].userId) },
    );
    const students = await trainReferences(scenario, dataset.itemIds, privateDataFile, localJobs, progress);
    const results: RunResult[] = scenario.runs.map((run) => {
      const federation = federations.get(run.name);
      if (federation) return { ...federatedResult(run, federation), federationSeconds: federationSeconds.get(run.name) };
      if (run.algorithm === 'popularity') {
        return runResult(run.name, run.algorithm, REFERENCE_DESCRIPTIONS.popularity, {
          test: evaluatePopularity(privateSplits, dataset.itemIds.length, scenario.seed, 'test'),
          validation: evaluatePopularity(privateSplits, dataset.itemIds.length, scenario.seed, 'validation'),
        });
      }
      const trained = run.algorithm === 'central' ? students.slice(0, 1) : students.slice(1);
      return runResult(run.name, run.algorithm, REFERENCE_DESCRIPTIONS[run.algorithm as 'local' | 'central'], {
        test: sumEvaluations(trained, 'test'),
        validation: sumEvaluations(trained, 'validation'),
      });
    });

    const report: SimulationReport = {
      scenario: scenario.name,
      description: scenario.description ?? null,
      createdAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      command: options.command,
      dataset: {
        path: scenario.datasetPath,
        users: dataset.users.length,
        items: dataset.itemIds.length,
        interactions: dataset.interactionCount,
        evaluatedUsers: privateSplits.filter((split) => split.test >= 0).length,
        publicUsers: publicChoice?.publicUsers.length ?? 0,
      },
      partition: { ...scenario.partition, clients: partition.length, usersPerClient: partition.map((users) => users.length) },
      seed: scenario.seed,
      rounds: scenario.rounds,
      results,
      runs: scenario.runs.map((run) => ({ ...run, rounds: federations.get(run.name)?.results.rounds ?? [] })),
    };
    const files = await writeSimulationReport(directory, report);
    return { report, directory, files };
  } finally {
    progress.stop();
  }
}

/**
 * Builds the coordinator settings of a federated run: the scenario's rounds and seed, the run's
 * settings, what its algorithm fixes, and the simulation's public probes and round cohorts.
 */
function federationSettings(scenario: Scenario, run: ScenarioRun, population: { publicProbes: number[][]; roundCohorts: string[][] | null }): Partial<CoordinatorConfig> {
  return {
    rounds: scenario.rounds,
    // Every client evaluates after the last round, and a pool of hosts evaluates its clients a few
    // at a time: give them an hour, not the coordinator's default of 10 minutes.
    reportTimeoutMs: SIMULATION_REPORT_TIMEOUT_MS,
    ...run.coordinator,
    ...(isFederated(run.algorithm) ? FEDERATED_PRESETS[run.algorithm].coordinator : {}),
    seed: scenario.seed,
    roundMetrics: true,
    publicProbes: population.publicProbes,
    roundCohorts: population.roundCohorts,
  };
}

/** Returns the identity seed of simulated client `index`. Every run uses the same scheme, so a client keeps its id across runs. */
function simulatedIdentitySeed(seed: number, index: number): string {
  return `simulation-${seed}-client-${index + 1}`;
}

/** Trains `central` and one `local` student per client when the scenario lists either. Central comes first. */
async function trainReferences(
  scenario: Scenario,
  itemIds: string[],
  privateDataFile: string,
  localJobs: Array<{ name: string; dataFile: string; userIds?: string[] }>,
  progress: SimulationProgress,
): Promise<StudentBaselineResult[]> {
  const wanted = scenario.runs.find((run) => run.algorithm === 'local' || run.algorithm === 'central');
  if (wanted === undefined) return [];

  const jobs = [{ name: 'central', dataFile: privateDataFile }, ...localJobs];
  return trainStudentBaselines(
    jobs,
    { itemIds, student: wanted.learner.student, training: wanted.learner.training, maxEpochs: scenario.baselineEpochs, seed: scenario.seed },
    progress.baselines('references'),
  );
}

function federatedResult(run: ScenarioRun, federation: FederationOutcome): RunResult {
  const evaluations = Object.values(federation.results.reports);
  const reports = federation.clients.map((client) => client.report);
  const mean = (values: number[]) => values.reduce((total, value) => total + value, 0) / Math.max(values.length, 1);
  const rounds: RoundSummary[] = federation.results.rounds;
  return {
    ...runResult(
      run.name,
      run.algorithm,
      isFederated(run.algorithm) ? FEDERATED_PRESETS[run.algorithm].description : '',
      {
        test: sumEvaluations(evaluations, 'test'),
        validation: sumEvaluations(evaluations, 'validation'),
        finalStudentValidation: sumEvaluations(evaluations, 'finalStudentValidation'),
      },
      { sent: mean(reports.map((report) => report.bytesSent)), received: mean(reports.map((report) => report.bytesReceived)) },
    ),
    series: roundSeries(rounds),
    ...(federation.peakHostMemoryBytes !== undefined ? { peakClientHostBytes: federation.peakHostMemoryBytes } : {}),
  };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'run';
}
