// Runs optimisation steps on a student: the recommendation loss on private histories plus any
// number of weighted distillation terms on probes of the transfer set.
import * as tf from '@tensorflow/tfjs';
import { type Random, createRandom, shuffleInPlace } from '@distillate/shared';

import { packContexts } from '../student/context-batch.js';
import type { Student } from '../student/student.js';
import { distillationLoss, multinomialLoss } from './losses.js';
import { corruptHistory, targetDistributions } from './training-examples.js';

export interface TrainingConfig {
  learningRate: number;
  /** Users per step. */
  batchSize: number;
  /** Most probes per step, summed over the distillation sets. */
  maxProbeBatchSize: number;
  /** Probability that a history item stays in the corrupted context. */
  keepProbability: number;
  /** Predict the whole history ('all') or only the items dropped from the context ('dropped'). */
  targets: 'all' | 'dropped';
  /** Share of examples whose context is one random history item, which teaches item-to-item predictions. */
  singleItemShare: number;
}

export const DEFAULT_TRAINING_CONFIG: TrainingConfig = {
  learningRate: 0.003,
  batchSize: 64,
  maxProbeBatchSize: 256,
  keepProbability: 0.5,
  targets: 'all',
  singleItemShare: 0,
};

/** Soft targets on a set of probes: each with the weight of its loss term. */
export interface DistillationSet {
  probes: readonly Int32Array[];
  candidates: Int32Array;
  /** Each target is [probes × candidates] logits, row-major. */
  targets: ReadonlyArray<{ logits: Float32Array; weight: number }>;
  temperature: number;
}

export interface EpochLosses {
  recommendation: number;
  distillation: number;
  steps: number;
}

export class StudentTrainer {
  private readonly optimizer: tf.Optimizer;
  private readonly random: Random;

  constructor(
    private readonly student: Student,
    private readonly config: TrainingConfig,
    seed: number,
  ) {
    this.optimizer = tf.train.adam(config.learningRate);
    this.random = createRandom(seed, 'trainer');
  }

  /**
   * One pass over the histories and over every distillation set. Each step takes the next batch
   * of users, while any are left, and an equal share of each set's probes, so every user and
   * every probe is seen once per epoch.
   */
  trainEpoch(histories: readonly Int32Array[], distillation: readonly DistillationSet[] = []): EpochLosses {
    const users = shuffleInPlace(
      histories.filter((history) => history.length > 0),
      this.random,
    );
    const probeOrders = distillation.map((set) => shuffleInPlace(Int32Array.from(set.probes.keys()), this.random));

    const userSteps = Math.ceil(users.length / this.config.batchSize);
    const probeCount = distillation.reduce((total, set) => total + set.probes.length, 0);
    const steps = Math.max(userSteps, Math.ceil(probeCount / this.config.maxProbeBatchSize));
    const probeBatchSizes = distillation.map((set) => Math.ceil(set.probes.length / Math.max(steps, 1)));

    let recommendationTotal = 0;
    let distillationTotal = 0;
    for (let step = 0; step < steps; step++) {
      const userBatch = users.slice(step * this.config.batchSize, (step + 1) * this.config.batchSize);
      const probeBatches = distillation.map((set, k) => wrappedSlice(probeOrders[k], step, probeBatchSizes[k]));
      const [recommendation, distilled] = this.step(userBatch, distillation, probeBatches);
      recommendationTotal += recommendation;
      distillationTotal += distilled;
    }
    return {
      recommendation: steps > 0 ? recommendationTotal / steps : 0,
      distillation: steps > 0 ? distillationTotal / steps : 0,
      steps,
    };
  }

  dispose(): void {
    this.optimizer.dispose();
  }

  private step(
    users: Int32Array[],
    distillation: readonly DistillationSet[],
    probeBatches: ArrayLike<number>[],
  ): [number, number] {
    const itemCount = this.student.config.itemCount;
    const examples = users.map((history) => corruptHistory(history, this.config.keepProbability, this.config.targets, this.random, this.config.singleItemShare));
    const { maxContextLength: maxLength, recencyHalfLife } = this.student.config;

    let recommendationValue = 0;
    let distillationValue = 0;
    const cost = this.optimizer.minimize(() => {
      let total = tf.scalar(0);

      if (examples.length > 0) {
        const logits = this.student.logits(packContexts(examples.map((example) => example.context), maxLength, recencyHalfLife));
        const targets = tf.tensor2d(targetDistributions(examples, itemCount), [examples.length, itemCount]);
        const recommendation = multinomialLoss(logits, targets);
        recommendationValue = recommendation.dataSync()[0];
        total = tf.add(total, recommendation);
      }

      distillation.forEach((set, k) => {
        const rows = probeBatches[k];
        if (rows.length === 0) return;
        const candidates = tf.tensor1d(set.candidates, 'int32');
        const contexts = Array.from(rows, (row) => set.probes[row]);
        const studentLogits = this.student.logits(packContexts(contexts, maxLength, recencyHalfLife), candidates);
        for (const target of set.targets) {
          if (target.weight === 0) continue;
          const teacherLogits = tf.tensor2d(
            gatherRows(target.logits, rows, set.candidates.length),
            [rows.length, set.candidates.length],
          );
          const term = tf.mul(distillationLoss(studentLogits, teacherLogits, set.temperature), target.weight);
          distillationValue += term.dataSync()[0];
          total = tf.add(total, term);
        }
      });
      return total as tf.Scalar;
    }, true);
    cost?.dispose();
    return [recommendationValue, distillationValue];
  }
}

function wrappedSlice<T>(values: ArrayLike<T>, step: number, size: number): T[] {
  if (values.length === 0) return [];
  const count = Math.min(size, values.length);
  const start = (step * size) % values.length;
  const slice: T[] = [];
  for (let k = 0; k < count; k++) slice.push(values[(start + k) % values.length]);
  return slice;
}

function gatherRows(matrix: Float32Array, rows: ArrayLike<number>, width: number): Float32Array {
  const gathered = new Float32Array(rows.length * width);
  for (let k = 0; k < rows.length; k++) gathered.set(matrix.subarray(rows[k] * width, (rows[k] + 1) * width), k * width);
  return gathered;
}
