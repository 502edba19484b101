import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  PooledEmbeddingStudent,
  type StudentConfig,
  distillationLoss,
  initializeTensorFlow,
  loadStudent,
  multinomialLoss,
  packContexts,
  saveStudent,
  scoreContexts,
} from '../src/index.js';

const config: StudentConfig = {
  architecture: 'pooled-embedding',
  itemCount: 50,
  embeddingDim: 8,
  hiddenDim: 0,
  maxContextLength: 4,
  recencyHalfLife: 0,
  seed: 3,
};

beforeAll(async () => {
  await initializeTensorFlow();
});

describe('packContexts', () => {
  it('pads and keeps the most recent items', () => {
    const batch = packContexts([Int32Array.of(1, 2, 3, 4, 5), Int32Array.of(7)], 3);
    expect(batch.width).toBe(3);
    expect(Array.from(batch.indices)).toEqual([3, 4, 5, 7, 0, 0]);
    expect(Array.from(batch.weights)).toEqual([1 / 3, 1 / 3, 1 / 3, 1, 0, 0].map(Math.fround));
  });

  it('halves the weight per half-life back in the context', () => {
    const batch = packContexts([Int32Array.of(1, 2)], 5, 1);
    expect(batch.weights[0]).toBeCloseTo(1 / 3, 6);
    expect(batch.weights[1]).toBeCloseTo(2 / 3, 6);
  });
});

describe('PooledEmbeddingStudent', () => {
  it('scores every item, or only the candidates', () => {
    const student = new PooledEmbeddingStudent(config);
    const all = scoreContexts(student, [Int32Array.of(1, 2), Int32Array.of(3)]);
    const some = scoreContexts(student, [Int32Array.of(1, 2), Int32Array.of(3)], Int32Array.of(10, 4));
    expect(all.length).toBe(100);
    expect(some[0]).toBeCloseTo(all[10], 5);
    expect(some[1]).toBeCloseTo(all[4], 5);
    expect(some[3]).toBeCloseTo(all[50 + 4], 5);
    student.dispose();
  });

  it('gives the mean of item logits for a context without a hidden layer', () => {
    const student = new PooledEmbeddingStudent(config);
    const [pair, first, second] = [Int32Array.of(1, 2), Int32Array.of(1), Int32Array.of(2)].map((context) => scoreContexts(student, [context]));
    for (let item = 0; item < 50; item += 7) expect(pair[item]).toBeCloseTo((first[item] + second[item]) / 2, 5);
    student.dispose();
  });

  it('initialises identically for the same seed', () => {
    const [a, b] = [new PooledEmbeddingStudent(config), new PooledEmbeddingStudent(config)];
    expect(scoreContexts(a, [Int32Array.of(5)])).toEqual(scoreContexts(b, [Int32Array.of(5)]));
    a.dispose();
    b.dispose();
  });

  it('saves and loads the same weights', async () => {
    const student = new PooledEmbeddingStudent({ ...config, hiddenDim: 6 });
    const directory = await mkdtemp(path.join(tmpdir(), 'distillate-student-'));
    await saveStudent(student, directory);
    const loaded = await loadStudent(directory);
    expect(loaded.config).toEqual(student.config);
    expect(scoreContexts(loaded, [Int32Array.of(1, 9)])).toEqual(scoreContexts(student, [Int32Array.of(1, 9)]));
    student.dispose();
    loaded.dispose();
  });

  it('rejects weights of another shape', () => {
    const student = new PooledEmbeddingStudent(config);
    const other = new PooledEmbeddingStudent({ ...config, itemCount: 60 });
    expect(() => student.setWeights(other.getWeights())).toThrow('Student weight "inputEmbeddings" has 480 values but the student expects 400');
    student.dispose();
    other.dispose();
  });

  it('rejects an invalid configuration', () => {
    expect(() => new PooledEmbeddingStudent({ ...config, embeddingDim: 0 })).toThrow('Student embeddingDim must be a positive integer, got 0.');
  });
});

describe('losses', () => {
  it('computes the multinomial loss by hand', () => {
    // log_softmax([0, ln 3]) = [ln 1/4, ln 3/4]; target mass all on item 1.
    const loss = tf.tidy(() => multinomialLoss(tf.tensor2d([[0, Math.log(3)]]), tf.tensor2d([[0, 1]])).dataSync()[0]);
    expect(loss).toBeCloseTo(-Math.log(0.75), 5);
  });

  it('is zero for distillation from an identical teacher', () => {
    const loss = tf.tidy(() => distillationLoss(tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[1, 2, 3]]), 2).dataSync()[0]);
    expect(loss).toBeCloseTo(0, 6);
  });

  it('computes tau-squared KL by hand', () => {
    // τ = 1: KL([0.5, 0.5] ‖ [0.75, 0.25]) = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25).
    const loss = tf.tidy(() => distillationLoss(tf.tensor2d([[Math.log(3), 0]]), tf.tensor2d([[0, 0]]), 1).dataSync()[0]);
    expect(loss).toBeCloseTo(0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(2), 5);
    const scaled = tf.tidy(() => distillationLoss(tf.tensor2d([[Math.log(9), 0]]), tf.tensor2d([[0, 0]]), 2).dataSync()[0]);
    expect(scaled).toBeCloseTo(4 * (0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(2)), 5);
  });
});

describe('scatter-add kernel', () => {
  it('gives the gradient of an embedding lookup', () => {
    const table = tf.variable(tf.zeros([5, 2]));
    const gradient = tf.tidy(() =>
      tf.grads((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor2d([[1, 3], [1, 4]], [2, 2], 'int32')), tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]))))([table])[0].arraySync(),
    );
    expect(gradient).toEqual([
      [0, 0],
      [6, 8],
      [0, 0],
      [3, 4],
      [7, 8],
    ]);
    table.dispose();
  });
});
