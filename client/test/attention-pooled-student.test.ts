import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { type UserSplit, createRandom, metricMeans, randomInteger, shuffleInPlace } from '@distillate/shared';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  type AttentionPooledStudentConfig,
  AttentionPooledStudent,
  type ContextBatch,
  DEFAULT_ATTENTION_DIM,
  DEFAULT_TRAINING_CONFIG,
  PooledEmbeddingStudent,
  STUDENT_ARCHITECTURES,
  type StudentConfig,
  StudentTrainer,
  createStudent,
  evaluateStudent,
  fedPddSettingsFromJson,
  initializeTensorFlow,
  loadStudent,
  multinomialLoss,
  packContexts,
  saveStudent,
  scoreContexts,
} from '../src/index.js';

const config: AttentionPooledStudentConfig = {
  architecture: 'attention-pooled',
  itemCount: 50,
  embeddingDim: 8,
  hiddenDim: 0,
  attentionDim: 4,
  maxContextLength: 6,
  recencyHalfLife: 2,
  seed: 3,
};

/** Logits of `student` for one batch, read out of TensorFlow.js. */
function logitsOf(student: AttentionPooledStudent | PooledEmbeddingStudent, batch: ContextBatch, candidates?: Int32Array): Float32Array {
  const candidateTensor = candidates ? tf.tensor1d(candidates, 'int32') : undefined;
  const logits = student.logits(batch, candidateTensor);
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  candidateTensor?.dispose();
  return values;
}

/** Random values of the same sizes, so that tests do not depend on the initialisation. */
function randomWeights(student: AttentionPooledStudent, seed: number): Map<string, Float32Array> {
  const random = createRandom(seed, 'weights');
  return new Map([...student.getWeights()].map(([name, values]) => [name, Float32Array.from(values, () => random() - 0.5)]));
}

function expectClose(actual: Float32Array, expected: Float32Array, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < actual.length; k++) expect(actual[k]).toBeCloseTo(expected[k], digits);
}

beforeAll(async () => {
  expect(['tensorflow', 'wasm']).toContain(await initializeTensorFlow());
});

describe('AttentionPooledStudent', () => {
  it('scores every item, or only the candidates', () => {
    const student = new AttentionPooledStudent(config);
    const batch = packContexts([Int32Array.of(1, 2, 3), Int32Array.of(4)], config.maxContextLength, config.recencyHalfLife);

    const logits = student.logits(batch);
    const candidates = tf.tensor1d(Int32Array.of(10, 4, 33), 'int32');
    const candidateLogits = student.logits(batch, candidates);
    expect(logits.shape).toEqual([2, 50]);
    expect(candidateLogits.shape).toEqual([2, 3]);

    const all = logits.dataSync();
    const some = candidateLogits.dataSync();
    expect(some[0]).toBeCloseTo(all[10], 5);
    expect(some[2]).toBeCloseTo(all[33], 5);
    expect(some[4]).toBeCloseTo(all[50 + 4], 5);

    tf.dispose([logits, candidates, candidateLogits]);
    student.dispose();
  });

  it('ignores padding entries', () => {
    const student = new AttentionPooledStudent(config);
    student.setWeights(randomWeights(student, 1));
    const short = Int32Array.of(7, 8);

    const alone = logitsOf(student, packContexts([short], 6, 2));
    const padded = packContexts([Int32Array.of(1, 2, 3, 4, 5), short], 6, 2);
    expect(padded.width).toBe(5);
    expectClose(logitsOf(student, padded).subarray(50), alone);

    // Padding slots hold item 0; other items there must not matter either while their weight is 0.
    const otherPadding = { ...padded, indices: padded.indices.slice() };
    otherPadding.indices.fill(41, 5 + 2);
    expectClose(logitsOf(student, otherPadding), logitsOf(student, padded));
    student.dispose();
  });

  it('scores an empty context by the output bias', () => {
    const student = new AttentionPooledStudent({ ...config, hiddenDim: 5 });
    const weights = randomWeights(student, 2);
    weights.set('hiddenBias', new Float32Array(5));
    student.setWeights(weights);

    const logits = logitsOf(student, packContexts([new Int32Array(0)], 6, 2));

    expectClose(logits, weights.get('outputBias')!);
    student.dispose();
  });

  it('pools like recency-weighted means under flat attention', () => {
    // With the attention network's output weights at zero every content score is 0, so the
    // weights come from the recency scores alone, which start at the half-life's weights.
    const attention = new AttentionPooledStudent(config);
    const pooled = new PooledEmbeddingStudent({ ...config, architecture: 'pooled-embedding' });
    const weights = randomWeights(attention, 3);
    weights.set('attentionOutput', new Float32Array(config.attentionDim!));
    weights.set('recencyScores', attention.getWeights().get('recencyScores')!);
    attention.setWeights(weights);
    pooled.setWeights(new Map([...pooled.getWeights().keys()].map((name) => [name, weights.get(name)!])));

    const contexts = [Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8), Int32Array.of(9), Int32Array.of(10, 11, 12)];
    const batch = packContexts(contexts, config.maxContextLength, config.recencyHalfLife);

    expectClose(logitsOf(attention, batch), logitsOf(pooled, batch));
    attention.dispose();
    pooled.dispose();
  });

  it('counts old items whose recency weight underflows', () => {
    // A half-life of 1 item puts 2^-150 and less, which is 0 in float32, on the oldest of 200 items.
    const long = { ...config, maxContextLength: 200, recencyHalfLife: 1 };
    const attention = new AttentionPooledStudent(long);
    const pooled = new PooledEmbeddingStudent({ ...long, architecture: 'pooled-embedding', recencyHalfLife: 0 });
    const weights = randomWeights(attention, 4);
    weights.set('attentionOutput', new Float32Array(config.attentionDim!));
    weights.set('recencyScores', new Float32Array(200));
    attention.setWeights(weights);
    pooled.setWeights(new Map([...pooled.getWeights().keys()].map((name) => [name, weights.get(name)!])));
    const context = Int32Array.from({ length: 200 }, (_, k) => k % 50);

    const attentionBatch = packContexts([context], 200, 1);
    expect(attentionBatch.weights[0]).toBe(0);
    const uniformBatch = packContexts([context], 200, 0);

    expectClose(logitsOf(attention, attentionBatch), logitsOf(pooled, uniformBatch));
    attention.dispose();
    pooled.dispose();
  });

  it('gives every weight a finite gradient on this backend', () => {
    const student = new AttentionPooledStudent({ ...config, hiddenDim: 5 });
    const batch = packContexts([Int32Array.of(1, 2, 3), Int32Array.of(4, 5), Int32Array.of(6)], 6, 2);
    const before = tf.memory().numTensors;

    const { value, grads } = tf.variableGrads(() => {
      const targets = tf.cast(tf.oneHot(tf.tensor1d([7, 8, 9], 'int32'), 50), 'float32') as tf.Tensor2D;
      return multinomialLoss(student.logits(batch), targets);
    }, student.trainableVariables());

    expect(Object.keys(grads)).toHaveLength(9);
    for (const [name, gradient] of Object.entries(grads)) {
      const values = gradient.dataSync();
      expect(values.every(Number.isFinite), `${name} has a non-finite gradient`).toBe(true);
      expect(values.some((value) => value !== 0), `${name} has a zero gradient`).toBe(true);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    student.dispose();
  });

  it('keeps the tensor count through training', () => {
    const before = tf.memory().numTensors;
    const student = new AttentionPooledStudent(config);
    const trainer = new StudentTrainer(student, { ...DEFAULT_TRAINING_CONFIG, batchSize: 4 }, 1);
    const histories = [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6, 7), Int32Array.of(8, 9)];
    const probes = [Int32Array.of(1), Int32Array.of(2, 3)];
    const distillation = [{ probes, candidates: Int32Array.of(1, 2, 3, 4), targets: [{ logits: new Float32Array(8), weight: 1 }], temperature: 2 }];

    trainer.trainEpoch(histories, distillation);
    const afterOneEpoch = tf.memory().numTensors;
    trainer.trainEpoch(histories, distillation);
    trainer.trainEpoch(histories, distillation);

    expect(tf.memory().numTensors).toBe(afterOneEpoch);
    trainer.dispose();
    student.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('initialises identically for the same seed', () => {
    const [a, b] = [new AttentionPooledStudent(config), new AttentionPooledStudent(config)];
    const c = new AttentionPooledStudent({ ...config, seed: 4 });

    expect(scoreContexts(a, [Int32Array.of(5, 6)])).toEqual(scoreContexts(b, [Int32Array.of(5, 6)]));
    expect(scoreContexts(a, [Int32Array.of(5, 6)])).not.toEqual(scoreContexts(c, [Int32Array.of(5, 6)]));
    for (const student of [a, b, c]) student.dispose();
  });

  it('round-trips its weights', () => {
    const source = new AttentionPooledStudent({ ...config, hiddenDim: 5 });
    source.setWeights(randomWeights(source, 5));
    const target = new AttentionPooledStudent({ ...config, hiddenDim: 5, seed: 9 });

    target.setWeights(source.getWeights());

    expect(target.getWeights()).toEqual(source.getWeights());
    expect(scoreContexts(target, [Int32Array.of(3, 1, 4)])).toEqual(scoreContexts(source, [Int32Array.of(3, 1, 4)]));
    source.dispose();
    target.dispose();
  });

  it('saves and loads through the student file', async () => {
    const student = new AttentionPooledStudent({ ...config, hiddenDim: 5 });
    student.setWeights(randomWeights(student, 6));
    const directory = await mkdtemp(path.join(tmpdir(), 'distillate-attention-student-'));

    await saveStudent(student, directory);
    const loaded = await loadStudent(directory);

    expect(loaded).toBeInstanceOf(AttentionPooledStudent);
    expect(loaded.config).toEqual(student.config);
    expect(scoreContexts(loaded, [Int32Array.of(1, 9)])).toEqual(scoreContexts(student, [Int32Array.of(1, 9)]));
    student.dispose();
    loaded.dispose();
  });

  it('rejects weights for another item count', () => {
    const student = new AttentionPooledStudent(config);
    const other = new AttentionPooledStudent({ ...config, itemCount: 60 });
    const original = student.getWeights();

    expect(() => student.setWeights(other.getWeights())).toThrow(
      'Student weight "inputEmbeddings" has 480 values but this student expects 400 (shape 50×8): ' +
        'the weights are for 60 items and this student has 50.',
    );
    expect(student.getWeights()).toEqual(original);
    student.dispose();
    other.dispose();
  });

  it('rejects weights of the pooled-embedding architecture', () => {
    const student = new AttentionPooledStudent(config);
    const pooled = new PooledEmbeddingStudent({ ...config, architecture: 'pooled-embedding' });

    expect(() => student.setWeights(pooled.getWeights())).toThrow('Student weights lack "attentionKernel"');
    student.dispose();
    pooled.dispose();
  });

  it('rejects an invalid configuration', () => {
    expect(() => new AttentionPooledStudent({ ...config, attentionDim: 0 })).toThrow('Student attentionDim must be a positive integer, got 0.');
    expect(() => new AttentionPooledStudent({ ...config, recencyHalfLife: -1 })).toThrow('Student recencyHalfLife must be 0');
    const pooledConfig = { ...config, architecture: 'pooled-embedding' } as unknown as AttentionPooledStudentConfig;
    expect(() => new AttentionPooledStudent(pooledConfig)).toThrow('got a config for architecture "pooled-embedding"');
  });

  it('fills in the default attentionDim', () => {
    const { attentionDim: _, ...withoutAttentionDim } = config;
    const student = new AttentionPooledStudent(withoutAttentionDim);

    expect(student.config.attentionDim).toBe(DEFAULT_ATTENTION_DIM);
    expect(student.getWeights().get('attentionKernel')).toHaveLength(config.embeddingDim * DEFAULT_ATTENTION_DIM);
    student.dispose();
  });
});

/**
 * Users of a catalog split into groups of related items. Each user's history contains five items
 * of one group and two items of other groups. The validation and test items are two more items
 * of the user's group. Every item is about equally popular, so only item-to-item structure ranks
 * the held-out items high.
 */
function groupedSplits(userCount: number, groupCount: number, groupSize: number, seed: number): UserSplit[] {
  const random = createRandom(seed, 'grouped-splits');
  const itemCount = groupCount * groupSize;

  return Array.from({ length: userCount }, (_, user) => {
    const group = user % groupCount;
    const groupItems = shuffleInPlace(Array.from({ length: groupSize }, (_, k) => group * groupSize + k), random);
    const noise: number[] = [];
    while (noise.length < 2) {
      const item = randomInteger(random, itemCount);
      if (Math.floor(item / groupSize) !== group && !noise.includes(item)) noise.push(item);
    }
    const train = shuffleInPlace([...groupItems.slice(0, 5), ...noise], random);
    return { userId: `user-${user}`, train: Int32Array.from(train), validation: groupItems[5], test: groupItems[6] };
  });
}

describe('attention-pooled student learning', () => {
  it('learns item-to-item structure', () => {
    const splits = groupedSplits(360, 12, 10, 1);
    const itemCount = 120;
    const student = new AttentionPooledStudent({ ...config, itemCount, embeddingDim: 16, attentionDim: 8, maxContextLength: 10 });

    const untrained = metricMeans(evaluateStudent(student, splits, 'test', 1).full);
    const trainer = new StudentTrainer(student, { ...DEFAULT_TRAINING_CONFIG, learningRate: 0.02, batchSize: 32 }, 1);
    const losses: number[] = [];
    for (let epoch = 0; epoch < 15; epoch++) losses.push(trainer.trainEpoch(splits.map((split) => split.train)).recommendation);
    const trained = metricMeans(evaluateStudent(student, splits, 'test', 1).full);

    expect(losses[14]).toBeLessThan(losses[0] - 0.5);
    expect(untrained.ndcg[10]).toBeLessThan(0.2);
    expect(trained.ndcg[10]).toBeGreaterThan(untrained.ndcg[10] + 0.3);
    expect(trained.hitRate[10]).toBeGreaterThan(0.8);
    trainer.dispose();
    student.dispose();
  });
});

describe('createStudent', () => {
  const shared = { itemCount: 20, embeddingDim: 4, hiddenDim: 0, maxContextLength: 5, recencyHalfLife: 0, seed: 1 };

  it('builds each architecture', () => {
    const expected = { 'pooled-embedding': PooledEmbeddingStudent, 'attention-pooled': AttentionPooledStudent };
    expect([...STUDENT_ARCHITECTURES].sort()).toEqual(Object.keys(expected).sort());

    for (const architecture of STUDENT_ARCHITECTURES) {
      const student = createStudent({ ...shared, architecture });
      expect(student).toBeInstanceOf(expected[architecture]);
      expect(student.config.architecture).toBe(architecture);
      expect(scoreContexts(student, [Int32Array.of(1, 2)])).toHaveLength(20);
      student.dispose();
    }
  });

  it('rejects an unknown architecture', () => {
    const unknown = { ...shared, architecture: 'transformer' } as unknown as StudentConfig;

    expect(() => createStudent(unknown)).toThrow(
      'Unknown student architecture "transformer". Set architecture to one of: pooled-embedding, attention-pooled.',
    );
  });

  it('builds the architecture a settings file names', () => {
    const settings = fedPddSettingsFromJson({ student: { architecture: 'attention-pooled', attentionDim: 6 } }, 'settings.json');

    const student = createStudent({ ...settings.student, itemCount: 20, seed: 1 });

    expect(student).toBeInstanceOf(AttentionPooledStudent);
    expect(student.config).toMatchObject({ architecture: 'attention-pooled', attentionDim: 6, itemCount: 20 });
    student.dispose();
  });

  it('rejects a student file of an unknown architecture', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'distillate-unknown-student-'));
    const manifest = { formatVersion: 1, config: { ...shared, architecture: 'transformer' }, tensors: [] };
    await writeFile(path.join(directory, 'student.json'), JSON.stringify(manifest));

    await expect(loadStudent(directory)).rejects.toThrow(
      `${path.join(directory, 'student.json')} contains a student of unknown architecture "transformer". ` +
        'This version loads these architectures: pooled-embedding, attention-pooled.',
    );
  });
});
