// Training time per epoch of the client's default student on ml-latest-small, with TensorFlow.js
// on WebAssembly, with TensorFlow.js on its native backend (tfjs-node) when that is installed,
// and with the typed-array trainer.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { DEFAULT_FEDPDD_SETTINGS } from '@distillate/client';
import { forkTypeScript } from '@distillate/shared';

import { type Benchmark, type BenchmarkOptions, describeTiming, formatNumber, median } from './benchmark.js';
import type { EpochJob, EpochResult, EpochTrainer, EpochWorkerMessage } from './training-epoch-worker.js';

const WORKER = fileURLToPath(new URL('./training-epoch-worker.ts', import.meta.url));
const CLIENT_PACKAGE = fileURLToPath(new URL('../../client/package.json', import.meta.url));

/** Trainers that share a process alternate epochs. tfjs-node needs a process of its own. */
// NOTE: the tfjs-node process has not run yet, because tfjs-node could not be installed where this
// benchmark was written. Its row has only shown "not installed".
const PROCESSES: EpochTrainer[][] = [['tfjs-wasm', 'typed-array'], ['tfjs-node']];

const TRAINERS: Array<{ trainer: EpochTrainer; label: string }> = [
  { trainer: 'tfjs-wasm', label: 'StudentTrainer, tfjs WebAssembly' },
  { trainer: 'tfjs-node', label: 'StudentTrainer, tfjs-node' },
  { trainer: 'typed-array', label: 'TypedArrayTrainer' },
];

export const trainingEpochBenchmark: Benchmark = {
  name: 'training',

  async run(options: BenchmarkOptions) {
    const results = new Map<EpochTrainer, EpochResult | string>();
    for (const trainers of PROCESSES) {
      if (trainers.includes('tfjs-node') && !isInstalled('@tensorflow/tfjs-node')) {
        for (const trainer of trainers) results.set(trainer, 'not installed');
        continue;
      }
      try {
        const job = { trainers, warmupEpochs: options.warmups, timedEpochs: options.repeats, seed: options.seed };
        for (const result of await runWorker(job)) results.set(result.trainer, result);
      } catch (error) {
        for (const trainer of trainers) results.set(trainer, `failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const reference = results.get('tfjs-wasm');
    const referenceMs = typeof reference === 'object' ? median(reference.epochMs) : null;
    const rows = TRAINERS.map(({ trainer, label }) => {
      const result = results.get(trainer)!;
      if (typeof result === 'string') return [label, result, '', '', '', ''];
      const medianMs = median(result.epochMs);
      return [
        label,
        result.backend,
        formatNumber(medianMs),
        `${formatNumber(Math.min(...result.epochMs))}–${formatNumber(Math.max(...result.epochMs))}`,
        referenceMs === null ? '' : `${formatNumber(referenceMs / medianMs, 2)}×`,
        result.lastEpochLoss.toFixed(4),
      ];
    });

    const sample = [...results.values()].find((result): result is EpochResult => typeof result === 'object');
    const { student, training } = DEFAULT_FEDPDD_SETTINGS;
    return {
      title: 'Training time per epoch',
      description:
        'One epoch of the multinomial loss over the training histories of ml-latest-small ' +
        `(${sample?.users.toLocaleString('en-US') ?? '?'} users, ${sample?.items.toLocaleString('en-US') ?? '?'} items, ` +
        `${sample?.stepsPerEpoch ?? '?'} steps of up to ${training.batchSize} users), no distillation. The student has the client ` +
        `defaults (embeddingDim ${student.embeddingDim}, hiddenDim ${student.hiddenDim}, maxContextLength ` +
        `${student.maxContextLength}), trained with Adam at learning rate ${training.learningRate}. ` +
        `${describeTiming(options, 'epoch')} tfjs WebAssembly and the typed-array trainer share one process and ` +
        'alternate epochs; tfjs-node gets a process of its own. All start from the same initial weights and seed. ' +
        '"speed-up" is the tfjs WebAssembly time divided by the row\'s time, and the last column is the mean loss of ' +
        'the last timed epoch.',
      columns: ['trainer', 'backend', 'median ms per epoch', 'range ms', 'speed-up', 'loss, last epoch'],
      rows,
    };
  },
};

/** Returns true when the client package can resolve `name`. tfjs-node is an optional dependency of the client. */
function isInstalled(name: string): boolean {
  try {
    createRequire(CLIENT_PACKAGE).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function runWorker(job: EpochJob): Promise<EpochResult[]> {
  return new Promise((resolve, reject) => {
    const child = forkTypeScript(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;

    child.once('message', (message: EpochWorkerMessage) => {
      settled = true;
      if (message.type === 'result') resolve(message.results);
      else reject(new Error(message.error));
    });
    child.once('error', (error) => {
      settled = true;
      reject(error);
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      const exit = signal ?? `code ${code}`;
      reject(new Error(`training worker for ${job.trainers.join(' and ')} exited with ${exit} before it reported a result`));
    });

    child.send(job);
  });
}
