// A simulation scenario: one dataset, one partition of its users into clients, and the runs to
// compare on it. Scenario files are JSON; every field but `name`, `dataset` and `runs` has a
// default, and unknown fields are rejected with their path so that a typo never runs silently.
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { type FedPddSettings, fedPddSettingsFromJson } from '@distillate/client';
import { AGGREGATION_STRATEGIES, type CoordinatorConfig } from '@distillate/server';
import { BUILT_IN_DATASETS, codecFromSpec, describeSchemaError, readJsonFile } from '@distillate/shared';
import { z } from 'zod';

import { ALGORITHMS, type Algorithm, FEDERATED_PRESETS, isFederated } from './algorithms.js';
import { MAIN_JOB_FEDPDD_SETTINGS } from './main-job.js';

const integerAtLeast = (minimum: number) => z.number().int().min(minimum);

/** An enum whose error quotes the value it got. */
const oneOf = <const Values extends readonly [string, ...string[]]>(values: Values) =>
  z.enum(values, { error: (issue) => `got ${JSON.stringify(issue.input)}; expected one of ${values.join(', ')}` });

/** Codec spec, checked by the codec registry so that the error names the field. */
const codecSpec = z.string().superRefine((spec, context) => {
  try {
    codecFromSpec(spec);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const coordinatorOverridesSchema = z
  .strictObject({
    probesPerRound: integerAtLeast(1),
    candidatesPerRound: integerAtLeast(2),
    uniformShare: z.number().min(0).max(1),
    popularityExponent: z.number().min(0),
    publicProbeShare: z.number().min(0).max(1),
    uploadByteBudget: integerAtLeast(1),
    aggregation: oneOf(AGGREGATION_STRATEGIES),
    aggregationParameters: z
      .strictObject({ temperature: z.number().positive(), trim: z.number().min(0).lt(0.5), evidencePrior: z.number().positive() })
      .partial(),
    uploadCodec: codecSpec,
    teacherCodec: codecSpec,
    globalPatterns: integerAtLeast(1),
    roundTimeoutMs: integerAtLeast(1),
    reportTimeoutMs: integerAtLeast(1),
    maxMessageBytes: integerAtLeast(1024),
  })
  .partial();

/** Learner settings as JSON; checked field by field by the client's settings reader. */
const learnerOverridesSchema = z.record(z.string(), z.unknown());

const runSchema = z.strictObject({
  /** Label of the run in tables and charts; defaults to the algorithm's name. */
  name: z.string().min(1).optional(),
  algorithm: oneOf(ALGORITHMS),
  coordinator: coordinatorOverridesSchema.optional(),
  learner: learnerOverridesSchema.optional(),
  /** Student settings given to the clients in turn (client i gets entry i mod length), to mix architectures in one run. */
  students: z.array(learnerOverridesSchema).min(1).optional(),
});

const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /** A built-in dataset name, or a path (relative to the scenario file) to a MovieLens folder or an interaction file. */
  dataset: z.string().min(1),
  seed: z.number().int().min(0).default(1),
  rounds: integerAtLeast(1).default(25),
  partition: z
    .strictObject({
      /** cross-silo: `clients` clients of many users each; cross-device: one client per private user. */
      setting: oneOf(['cross-silo', 'cross-device']).default('cross-silo'),
      /** Clients of a cross-silo partition; cross-device ignores it. */
      clients: integerAtLeast(1).default(8),
      /** Assignment of users to clients (cross-silo), or draw of the clients of a round (cross-device). */
      assignment: oneOf(['iid', 'dirichlet']).default('dirichlet'),
      concentration: z.number().positive().default(0.5),
      /** Share of the clients that take part in each round. */
      participation: z.number().gt(0).max(1).default(1),
    })
    .prefault({}),
  /** Share of users made public: their histories become probes, and they leave client data and evaluation. */
  publicUsers: z.number().min(0).lt(1).default(0),
  /** Cross-device clients run in `hosts` processes, `concurrency` of them training at once in each. */
  pool: z
    .strictObject({ hosts: integerAtLeast(1).default(availableParallelism()), concurrency: integerAtLeast(1).default(2) })
    .prefault({}),
  /** Most epochs of the local and central references; validation picks the epoch. */
  baselineEpochs: integerAtLeast(1).default(60),
  coordinator: coordinatorOverridesSchema.default({}),
  learner: learnerOverridesSchema.default({}),
  runs: z.array(runSchema).min(1),
});

export type ScenarioFile = z.infer<typeof scenarioSchema>;

/** A run with its settings resolved: the scenario's, then the run's, then what its algorithm fixes. */
export interface ScenarioRun {
  name: string;
  algorithm: Algorithm;
  coordinator: Partial<CoordinatorConfig>;
  learner: FedPddSettings;
  /** The learner settings of each client in turn, when the run mixes students. */
  clientLearners?: FedPddSettings[];
}

export interface Scenario extends Omit<ScenarioFile, 'runs' | 'coordinator' | 'learner'> {
  /** The dataset as a path, built-in names resolved. */
  datasetPath: string;
  runs: ScenarioRun[];
}

/** Validates a parsed scenario and resolves every run's settings. `source` names the file in errors. */
export function scenarioFromJson(value: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`Invalid scenario in ${source}: ${describeSchemaError(parsed.error, 'scenario')}. Correct these fields.`);
  }

  const file = parsed.data;
  if (file.partition.setting === 'cross-silo' && typeof value === 'object' && value !== null && 'pool' in value) {
    throw new Error(
      `Invalid scenario in ${source}: pool applies to cross-device partitions only, where clients share host processes. ` +
        'Remove it, or set partition.setting to cross-device.',
    );
  }
  const names = new Set<string>();
  const runs = file.runs.map((run, index): ScenarioRun => {
    const name = run.name ?? run.algorithm;
    if (names.has(name)) {
      throw new Error(`Invalid scenario in ${source}: runs.${index} repeats the run name "${name}". Give each run a distinct name.`);
    }
    names.add(name);

    const learnerJson = mergeLearnerJson(file.learner, run.learner ?? {});
    const learner = fedPddSettingsFromJson(mergeLearnerJson(MAIN_JOB_LEARNER_JSON, learnerJson), `${source}, run "${name}"`, 'learner');
    const preset = isFederated(run.algorithm) ? FEDERATED_PRESETS[run.algorithm] : null;
    const coordinator = { ...preset?.coordinatorDefaults, ...file.coordinator, ...run.coordinator, ...preset?.coordinator };
    const clientLearners = run.students?.map((student, turn) =>
      withSeed(fedPddSettingsFromJson(mergeLearnerJson(MAIN_JOB_LEARNER_JSON, mergeLearnerJson(learnerJson, { student })), `${source}, run "${name}"`, `students.${turn}`), file.seed),
    );
    if (clientLearners && run.algorithm === 'fedavg' && new Set(clientLearners.map((settings) => JSON.stringify(settings.student))).size > 1) {
      throw new Error(`Invalid scenario in ${source}: run "${name}" mixes students, but fedavg averages parameters and needs one architecture. Remove "students" or choose a distillation algorithm.`);
    }
    return { name, algorithm: run.algorithm, coordinator, learner: withSeed(learner, file.seed), ...(clientLearners ? { clientLearners } : {}) };
  });

  const { runs: _runs, coordinator: _coordinator, learner: _learner, ...rest } = file;
  return { ...rest, datasetPath: resolveDataset(file.dataset, source), runs };
}

/** Reads and validates a scenario file. Errors name the file and what to fix. */
export async function readScenarioFile(file: string): Promise<Scenario> {
  return scenarioFromJson(await readJsonFile(file, 'scenario file', '--config'), file);
}

function withSeed(settings: FedPddSettings, seed: number): FedPddSettings {
  return { ...settings, seed };
}

/** The main job's learner settings as JSON, the base every scenario starts from. */
const MAIN_JOB_LEARNER_JSON: Record<string, unknown> = {
  warmupEpochs: MAIN_JOB_FEDPDD_SETTINGS.warmupEpochs,
  localEpochs: MAIN_JOB_FEDPDD_SETTINGS.localEpochs,
  finalEpochs: MAIN_JOB_FEDPDD_SETTINGS.finalEpochs,
};

/** Merges learner JSON; the nested student and training objects merge field by field. */
function mergeLearnerJson(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const key of ['student', 'training']) {
    if (isObject(base[key]) && isObject(overrides[key])) merged[key] = { ...base[key], ...overrides[key] };
  }
  return merged;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveDataset(dataset: string, source: string): string {
  if (dataset in BUILT_IN_DATASETS) return BUILT_IN_DATASETS[dataset as keyof typeof BUILT_IN_DATASETS];
  return path.resolve(path.dirname(source), dataset);
}
