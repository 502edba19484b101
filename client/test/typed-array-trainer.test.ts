import * as tf from '@tensorflow/tfjs';
import { createRandom, randomInteger, sampleWithoutReplacement } from '@distillate/shared';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_TRAINING_CONFIG,
  type DistillationSet,
  PooledEmbeddingStudent,
  type StudentConfig,
  StudentTrainer,
  type TrainingConfig,
  initializeTensorFlow,
  multinomialLoss,
  packContexts,
} from '../src/index.js';
import { type RecommendationExample, targetDistributions } from '../src/training/training-examples.js';
import { TypedArrayTrainer } from '../src/training/typed-array-trainer.js';

// 50 items is not a multiple of the kernels' block of 4 rows, so padding is exercised.
const config: StudentConfig = {
  architecture: 'pooled-embedding',
  itemCount: 50,
  embeddingDim: 8,
  hiddenDim: 0,
  maxContextLength: 6,
  recencyHalfLife: 2,
  seed: 3,
};

// 20 users in batches of 8 fill 3 steps and 12 probes in batches of 3 fill 4, so the last step of an epoch distils only.
const training: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, learningRate: 0.01, batchSize: 8, maxProbeBatchSize: 3 };

/** Largest |actual − expected| over a weight, relative to the largest |expected| value. */
function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return difference / scale;
}

/** Largest relative difference between two weight updates, (after − before) on each side. */
function relativeUpdateDifference(
  actualAfter: Float32Array,
  expectedAfter: Float32Array,
  before: Float32Array,
): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < before.length; i++) {
    const expectedUpdate = expectedAfter[i] - before[i];
    difference = Math.max(difference, Math.abs(actualAfter[i] - before[i] - expectedUpdate));
    scale = Math.max(scale, Math.abs(expectedUpdate));
  }
  return difference / scale;
}

function expectSameWeights(
  actual: Map<string, Float32Array>,
  expected: Map<string, Float32Array>,
  before: Map<string, Float32Array>,
): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, values] of expected) {
    expect(relativeDifference(actual.get(name)!, values), `${name} weights`).toBeLessThan(1e-5);
    expect(relativeUpdateDifference(actual.get(name)!, values, before.get(name)!), `${name} update`).toBeLessThan(1e-4);
  }
}

/** Seeded histories of distinct items. The first user has a single item. */
function makeHistories(count: number, seed: number): Int32Array[] {
  const random = createRandom(seed, 'histories');
  return Array.from({ length: count }, (_, user) => {
    const length = user === 0 ? 1 : 2 + randomInteger(random, 10);
    return Int32Array.from(sampleWithoutReplacement(config.itemCount, length, random));
  });
}

/** Applies the update StudentTrainer makes for a batch of examples, and returns the loss. */
function tfjsStep(student: PooledEmbeddingStudent, optimizer: tf.Optimizer, examples: RecommendationExample[]): number {
  let lossValue = 0;
  const cost = optimizer.minimize(() => {
    const batch = packContexts(examples.map((example) => example.context), config.maxContextLength, config.recencyHalfLife);
    const targets = tf.tensor2d(targetDistributions(examples, config.itemCount), [examples.length, config.itemCount]);
    const loss = multinomialLoss(student.logits(batch), targets);
    lossValue = loss.dataSync()[0];
    return loss;
  }, true);
  cost?.dispose();
  return lossValue;
}

/** Fixed examples, among them a context longer than maxContextLength and a repeated target. */
function fixedExamples(step: number): RecommendationExample[] {
  const random = createRandom(11, 'examples', step);
  const examples: RecommendationExample[] = [
    { context: Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), targets: Int32Array.of(10, 11, 12) },
    { context: Int32Array.of(49), targets: Int32Array.of(0, 0, 48) },
  ];
  for (let k = 0; k < 5; k++) {
    examples.push({
      context: Int32Array.from(sampleWithoutReplacement(config.itemCount, 1 + randomInteger(random, 5), random)),
      targets: Int32Array.from(sampleWithoutReplacement(config.itemCount, 1 + randomInteger(random, 6), random)),
    });
  }
  return examples;
}

function makeDistillationSet(seed: number): DistillationSet {
  const random = createRandom(seed, 'distillation');
  const probes = Array.from({ length: 12 }, (_, q) => (q < 8 ? Int32Array.of(q * 6) : Int32Array.of(q, q + 20, q + 30)));
  const candidates = Int32Array.from(sampleWithoutReplacement(config.itemCount, 17, random));
  candidates[16] = candidates[3];
  const teacherLogits = (spread: number) =>
    Float32Array.from({ length: probes.length * candidates.length }, () => spread * (random() - 0.5));
  return {
    probes,
    candidates,
    targets: [
      { logits: teacherLogits(6), weight: 1 },
      { logits: teacherLogits(2), weight: 0.5 },
      { logits: teacherLogits(4), weight: 0 },
    ],
    temperature: 3,
  };
}

beforeAll(async () => {
  await initializeTensorFlow();
});

describe('TypedArrayTrainer', () => {
  it('matches one tfjs Adam step', () => {
    const student = new PooledEmbeddingStudent(config);
    const before = student.getWeights();
    const trainer = new TypedArrayTrainer(config, before, training, 1);
    const optimizer = tf.train.adam(training.learningRate);

    const examples = fixedExamples(0);
    const expectedLoss = tfjsStep(student, optimizer, examples);
    const losses = trainer.trainStep(examples);

    expect(losses.recommendation).toBeCloseTo(expectedLoss, 5);
    expect(losses.distillation).toBe(0);
    expectSameWeights(trainer.getWeights(), student.getWeights(), before);
    optimizer.dispose();
    student.dispose();
  });

  it('matches five tfjs Adam steps', () => {
    const student = new PooledEmbeddingStudent(config);
    const before = student.getWeights();
    const trainer = new TypedArrayTrainer(config, before, training, 1);
    const optimizer = tf.train.adam(training.learningRate);

    // Later steps leave out rows that earlier steps used, whose moments still decay in tfjs.
    for (let step = 0; step < 5; step++) {
      const examples = fixedExamples(step).slice(step % 2 === 0 ? 0 : 2);
      const expectedLoss = tfjsStep(student, optimizer, examples);
      expect(trainer.trainStep(examples).recommendation).toBeCloseTo(expectedLoss, 5);
    }

    expectSameWeights(trainer.getWeights(), student.getWeights(), before);
    optimizer.dispose();
    student.dispose();
  });

  it('matches StudentTrainer epochs with distillation', () => {
    const student = new PooledEmbeddingStudent(config);
    const before = student.getWeights();
    const tfjsTrainer = new StudentTrainer(student, training, 5);
    const trainer = new TypedArrayTrainer(config, before, training, 5);
    const histories = makeHistories(20, 5);
    const distillation = [makeDistillationSet(5)];

    for (let epoch = 0; epoch < 2; epoch++) {
      const expected = tfjsTrainer.trainEpoch(histories, distillation);
      const actual = trainer.trainEpoch(histories, distillation);
      expect(actual.steps).toBe(4);
      expect(expected.steps).toBe(4);
      expect(actual.recommendation).toBeCloseTo(expected.recommendation, 4);
      expect(actual.distillation).toBeCloseTo(expected.distillation, 4);
    }

    expectSameWeights(trainer.getWeights(), student.getWeights(), before);
    tfjsTrainer.dispose();
    student.dispose();
  });

  it('matches StudentTrainer with a hidden layer', () => {
    const hiddenConfig = { ...config, hiddenDim: 6 };
    const student = new PooledEmbeddingStudent(hiddenConfig);
    const before = student.getWeights();
    const tfjsTrainer = new StudentTrainer(student, training, 7);
    const trainer = new TypedArrayTrainer(hiddenConfig, before, training, 7);
    const histories = makeHistories(20, 7);
    const distillation = [makeDistillationSet(7)];

    for (let epoch = 0; epoch < 2; epoch++) {
      const expected = tfjsTrainer.trainEpoch(histories, distillation);
      const actual = trainer.trainEpoch(histories, distillation);
      expect(actual.recommendation).toBeCloseTo(expected.recommendation, 4);
      expect(actual.distillation).toBeCloseTo(expected.distillation, 4);
    }

    expect([...trainer.getWeights().keys()]).toEqual(['inputEmbeddings', 'hiddenKernel', 'hiddenBias', 'outputEmbeddings', 'outputBias']);
    expectSameWeights(trainer.getWeights(), student.getWeights(), before);
    tfjsTrainer.dispose();
    student.dispose();
  });

  it('returns weights a student can load', () => {
    const student = new PooledEmbeddingStudent(config);
    const trainer = new TypedArrayTrainer(config, student.getWeights(), training, 1);
    trainer.trainEpoch(makeHistories(20, 9));

    student.setWeights(trainer.getWeights());
    const loaded = student.getWeights();
    for (const [name, values] of trainer.getWeights()) expect(loaded.get(name), name).toEqual(values);
    student.dispose();
  });

  it('rejects weights of another shape', () => {
    const student = new PooledEmbeddingStudent({ ...config, itemCount: 60 });
    expect(() => new TypedArrayTrainer(config, student.getWeights(), training, 1)).toThrow(
      'Typed-array trainer: weight "inputEmbeddings" has 480 values but the configuration expects 400.',
    );
    const withoutHiddenLayer = new PooledEmbeddingStudent(config);
    expect(() => new TypedArrayTrainer({ ...config, hiddenDim: 4 }, withoutHiddenLayer.getWeights(), training, 1)).toThrow(
      'Typed-array trainer: weights lack "hiddenKernel".',
    );
    student.dispose();
    withoutHiddenLayer.dispose();
  });

  it('rejects an item outside the catalog', () => {
    const student = new PooledEmbeddingStudent(config);
    const trainer = new TypedArrayTrainer(config, student.getWeights(), training, 1);
    expect(() => trainer.trainStep([{ context: Int32Array.of(50), targets: Int32Array.of(1) }])).toThrow(
      'Invalid context in batch row 0: item 50 is outside the catalog of 50 items.',
    );
    expect(() => trainer.trainStep([{ context: Int32Array.of(1), targets: Int32Array.of(-1) }])).toThrow(
      'Multinomial loss: target item -1 is outside the 50 scored items.',
    );
    student.dispose();
  });
});
