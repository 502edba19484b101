// A child process that times training epochs on the built-in dataset and sends the times to its
// parent. TensorFlow.js selects one backend per process, so each tfjs backend needs its own
// process. Trainers that share a process alternate epoch by epoch, so a change in the machine's
// load during the run affects them alike.
import {
  DEFAULT_FEDPDD_SETTINGS,
  type EpochLosses,
  PooledEmbeddingStudent,
  StudentTrainer,
  TypedArrayTrainer,
  initializeTensorFlow,
} from '@distillate/client';
import { BUILT_IN_DATASETS, buildDataset, loadInteractions, splitLeaveOneOut } from '@distillate/shared';

export type EpochTrainer = 'tfjs-wasm' | 'tfjs-node' | 'typed-array';

export interface EpochJob {
  /** Trainers to time in this process, with at most one tfjs backend among them. */
  trainers: EpochTrainer[];
  warmupEpochs: number;
  timedEpochs: number;
  seed: number;
}

export interface EpochResult {
  trainer: EpochTrainer;
  /** The tfjs backend that trained, or "none" for the typed-array trainer. */
  backend: string;
  users: number;
  items: number;
  stepsPerEpoch: number;
  /** Wall time of each timed epoch. */
  epochMs: number[];
  /** Multinomial loss averaged over the steps of the last epoch. */
  lastEpochLoss: number;
}

export type EpochWorkerMessage = { type: 'result'; results: EpochResult[] } | { type: 'failed'; error: string };

process.once('message', (job: EpochJob) => {
  timeEpochs(job)
    .then((results) => process.send!({ type: 'result', results } satisfies EpochWorkerMessage))
    .catch((error: unknown) =>
      process.send!({ type: 'failed', error: error instanceof Error ? error.message : String(error) } satisfies EpochWorkerMessage),
    )
    .finally(() => process.disconnect());
});

async function timeEpochs(job: EpochJob): Promise<EpochResult[]> {
  const backend = await initializeTensorFlow(job.trainers.includes('tfjs-node') ? 'tensorflow' : 'wasm');

  const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
  const histories = splitLeaveOneOut(dataset, job.seed).map((split) => split.train);
  const config = { ...DEFAULT_FEDPDD_SETTINGS.student, itemCount: dataset.itemIds.length, seed: job.seed };
  const training = DEFAULT_FEDPDD_SETTINGS.training;

  // Every trainer starts from the same initial weights and seed, so their losses can be compared.
  const student = new PooledEmbeddingStudent(config);
  const initialWeights = student.getWeights();
  const runs = job.trainers.map((trainer) => {
    let trainEpoch: () => EpochLosses;
    if (trainer === 'typed-array') {
      const typedTrainer = new TypedArrayTrainer(config, initialWeights, training, job.seed);
      trainEpoch = () => typedTrainer.trainEpoch(histories);
    } else {
      const tfjsTrainer = new StudentTrainer(student, training, job.seed);
      trainEpoch = () => tfjsTrainer.trainEpoch(histories);
    }
    return { trainer, trainEpoch, epochMs: [] as number[], last: { recommendation: Number.NaN, distillation: 0, steps: 0 } };
  });

  for (let epoch = 0; epoch < job.warmupEpochs + job.timedEpochs; epoch++) {
    for (const run of runs) {
      const start = performance.now();
      run.last = run.trainEpoch();
      if (epoch >= job.warmupEpochs) run.epochMs.push(performance.now() - start);
    }
  }

  return runs.map((run) => ({
    trainer: run.trainer,
    backend: run.trainer === 'typed-array' ? 'none' : backend,
    users: histories.length,
    items: config.itemCount,
    stepsPerEpoch: run.last.steps,
    epochMs: run.epochMs,
    lastEpochLoss: run.last.recommendation,
  }));
}
