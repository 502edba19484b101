// The references every run reports beside FedPDD: `popularity` (training counts over all
// clients), `local` (each client's student trained alone) and `central` (one student on all
// data pooled). Students train in worker processes, as many at once as there are cores.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';

import type { LocalTrainingResult, StudentConfig, TrainingConfig } from '@distillate/client';
import {
  type EvaluationSums,
  type UserSplit,
  emptyEvaluationSums,
  evaluateScorer,
  forkTypeScript,
  mergeMetricSums,
} from '@distillate/shared';

import type { BaselineJob } from './baseline-worker.js';
import { nextMessage, stopProcess } from './child-process-events.js';

const require = createRequire(import.meta.url);
const WORKER_ENTRY = require.resolve('./baseline-worker.ts');

export interface BaselineSettings {
  itemIds: string[];
  student: Omit<StudentConfig, 'itemCount' | 'seed'>;
  training: TrainingConfig;
  maxEpochs: number;
  seed: number;
}

export type StudentBaselineResult = LocalTrainingResult & { name: string; users: number };

/** Ranks items by their training count over every user: a reference that uses no context. */
export function evaluatePopularity(
  splits: readonly UserSplit[],
  itemCount: number,
  seed: number,
  purpose: 'test' | 'validation' = 'test',
): EvaluationSums {
  const counts = new Float32Array(itemCount);
  for (const split of splits) for (const item of split.train) counts[item] += 1;
  return evaluateScorer(
    splits,
    itemCount,
    (contexts) => {
      const scores = new Float32Array(contexts.length * itemCount);
      for (let row = 0; row < contexts.length; row++) scores.set(counts, row * itemCount);
      return scores;
    },
    { purpose, seed },
  );
}

/**
 * Trains a student per job in a pool of worker processes, as many as there are cores, and
 * returns their results in job order. A job names a data file and, optionally, its users.
 */
export async function trainStudentBaselines(
  jobs: Array<{ name: string; dataFile: string; userIds?: string[] }>,
  settings: BaselineSettings,
  onFinished?: (finished: number, total: number) => void,
): Promise<StudentBaselineResult[]> {
  const results: StudentBaselineResult[] = new Array(jobs.length);
  let next = 0;
  let finished = 0;

  const runWorker = async (): Promise<void> => {
    const child = forkTypeScript(WORKER_ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    try {
      while (next < jobs.length) {
        const index = next++;
        const job: BaselineJob = { ...jobs[index], ...settings };
        const done = nextMessage<{ type: 'result'; result: StudentBaselineResult } | { type: 'failed'; error: string }>(
          child,
          ['result', 'failed'],
          `baseline ${job.name}`,
          'its standard error',
        );
        child.send(job);
        const message = await done;
        if (message.type === 'failed') throw new Error(`Baseline ${job.name} failed: ${message.error}`);
        results[index] = message.result;
        finished += 1;
        onFinished?.(finished, jobs.length);
      }
    } finally {
      if (child.connected) child.disconnect();
      stopProcess(child);
    }
  };
  const workers = Math.max(1, Math.min(availableParallelism(), jobs.length));
  await Promise.all(Array.from({ length: workers }, runWorker));
  return results;
}

/** Adds the evaluation sums that several results contain under one key, such as 'test'. */
export function sumEvaluations<Key extends string>(
  results: ReadonlyArray<Record<Key, EvaluationSums>>,
  purpose: Key,
): EvaluationSums {
  const total = emptyEvaluationSums();
  for (const result of results) {
    mergeMetricSums(total.full, result[purpose].full);
    mergeMetricSums(total.sampled, result[purpose].sampled);
  }
  return total;
}
