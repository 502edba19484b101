import * as tf from '@tensorflow/tfjs';
import {
  BUILT_IN_DATASETS,
  type InteractionTable,
  buildDataset,
  evaluateScorer,
  loadInteractions,
  metricMeans,
  splitLeaveOneOut,
} from '@distillate/shared';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_TRAINING_CONFIG,
  PooledEmbeddingStudent,
  StudentTrainer,
  initializeTensorFlow,
  scoreContexts,
} from '../src/index.js';

/** 200 users of ml-latest-small with 20 to 400 ratings, on the 1,500 items they rated most. */
async function smallSample(): Promise<InteractionTable> {
  const table = await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']);
  const countBy = (values: string[]) => values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<string, number>());
  const top = (counts: Map<string, number>, size: number) => new Set([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, size).map(([id]) => id));

  const moderate = [...countBy(table.users)].filter(([, count]) => count >= 20 && count <= 400).map(([user]) => user);
  const users = new Set(moderate.slice(0, 200));
  const itemsOfUsers = table.items.filter((_, row) => users.has(table.users[row]));
  const items = top(countBy(itemsOfUsers), 1500);
  const rows = table.users.map((_, row) => row).filter((row) => users.has(table.users[row]) && items.has(table.items[row]));
  return {
    source: 'ml-latest-small sample',
    users: rows.map((row) => table.users[row]),
    items: rows.map((row) => table.items[row]),
    values: Float64Array.from(rows, (row) => table.values[row]),
    timestamps: Float64Array.from(rows, (row) => table.timestamps![row]),
  };
}

describe('student learning', () => {
  beforeAll(async () => {
    expect(['tensorflow', 'wasm']).toContain(await initializeTensorFlow());
  });

  it('lowers its loss and beats popularity', async () => {
    const dataset = buildDataset(await smallSample());
    const splits = splitLeaveOneOut(dataset, 1);
    const itemCount = dataset.itemIds.length;

    const counts = new Float32Array(itemCount);
    for (const split of splits) for (const item of split.train) counts[item] += 1;
    const popularity = evaluateScorer(splits, itemCount, (contexts) => {
      const scores = new Float32Array(contexts.length * itemCount);
      contexts.forEach((_, row) => scores.set(counts, row * itemCount));
      return scores;
    }, { purpose: 'test', seed: 1 });

    const student = new PooledEmbeddingStudent({
      architecture: 'pooled-embedding',
      itemCount,
      embeddingDim: 32,
      hiddenDim: 0,
      maxContextLength: 100,
      recencyHalfLife: 5,
      seed: 1,
    });
    const trainer = new StudentTrainer(student, { ...DEFAULT_TRAINING_CONFIG, learningRate: 0.01 }, 1);
    const histories = splits.map((split) => split.train);
    const losses: number[] = [];
    for (let epoch = 0; epoch < 20; epoch++) losses.push(trainer.trainEpoch(histories).recommendation);

    const learned = evaluateScorer(splits, itemCount, (contexts) => scoreContexts(student, contexts), { purpose: 'test', seed: 1 });
    expect(losses[19]).toBeLessThan(losses[0] - 0.5);
    expect(metricMeans(learned.sampled).ndcg[10]).toBeGreaterThan(metricMeans(popularity.sampled).ndcg[10] + 0.05);
    expect(metricMeans(learned.sampled).hitRate[10]).toBeGreaterThan(metricMeans(popularity.sampled).hitRate[10]);

    trainer.dispose();
    student.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});
