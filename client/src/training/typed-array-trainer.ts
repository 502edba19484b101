// Trains the pooled-embedding student on typed arrays instead of TensorFlow.js: the same examples,
// the same losses (multinomial likelihood and distillation) and the same Adam update as
// StudentTrainer, on a copy of the student's weights. getWeights() returns the result in the
// named layout of Student.getWeights(), so it can be loaded into a student or compared with tfjs.
import { type Random, createRandom, shuffleInPlace } from '@distillate/shared';

import { packContexts } from '../student/context-batch.js';
import type { StudentConfig } from '../student/student.js';
import {
  type ScoringShape,
  accumulateHiddenGradients,
  accumulateItemGradients,
  paddedRowCount,
  scoreItems,
} from './item-scoring-kernels.js';
import { TouchedRows, backpropagateContexts, encodeContexts } from './pooled-context-encoder.js';
import { addDistillationGradient, writeMultinomialGradient } from './softmax-loss-gradients.js';
import type { DistillationSet, EpochLosses, TrainingConfig } from './student-trainer.js';
import { type RecommendationExample, corruptHistory } from './training-examples.js';
import { TFJS_ADAM_DEFAULTS, TypedArrayAdam } from './typed-array-adam.js';
import {
  type TypedStudentGradients,
  type TypedStudentParameters,
  copyNamedWeightsInto,
  createZeroGradients,
  createZeroParameters,
  namedWeightsOf,
  outputDimOf,
} from './typed-student-parameters.js';

/** The probes of one distillation set that a step trains on: indices into set.probes. */
export interface DistillationBatch {
  set: DistillationSet;
  rows: ArrayLike<number>;
}

/** Loss values of one step, as StudentTrainer computes them. */
export interface StepLosses {
  recommendation: number;
  distillation: number;
}

/** Trains a copy of a pooled-embedding student's weights on typed arrays, step for step as StudentTrainer does with tfjs. */
export class TypedArrayTrainer {
  private readonly parameters: TypedStudentParameters;
  private readonly gradients: TypedStudentGradients;
  private readonly adam: TypedArrayAdam;
  private readonly touchedInputRows: TouchedRows;
  private readonly random: Random;

  /**
   * Copies `weights` (as Student.getWeights() returns them) and trains the copy. With the same
   * configuration, weights and seed as a StudentTrainer, trainEpoch() draws the same examples.
   */
  constructor(
    readonly config: StudentConfig,
    weights: ReadonlyMap<string, Float32Array>,
    private readonly training: TrainingConfig,
    seed: number,
  ) {
    validateStudentConfig(config);
    validateTrainingConfig(training);

    this.parameters = createZeroParameters(config);
    copyNamedWeightsInto(config, weights, this.parameters);
    this.gradients = createZeroGradients(this.parameters);
    this.adam = new TypedArrayAdam(
      this.parameterList().map((values) => values.length),
      { ...TFJS_ADAM_DEFAULTS, learningRate: training.learningRate },
    );
    this.touchedInputRows = new TouchedRows(config.itemCount);
    this.random = createRandom(seed, 'trainer');
  }

  /**
   * Trains one pass over the histories and over every distillation set, scheduled as
   * StudentTrainer.trainEpoch() does. Each step takes the next batch of users while any are left,
   * and an equal share of each set's probes.
   */
  trainEpoch(histories: readonly Int32Array[], distillation: readonly DistillationSet[] = []): EpochLosses {
    // NOTE: this schedule and its order of random draws repeat StudentTrainer.trainEpoch(), which
    // keeps them private. The test that compares both trainers over an epoch fails if they drift.
    const { batchSize, maxProbeBatchSize, keepProbability, targets, singleItemShare } = this.training;
    const users = shuffleInPlace(
      histories.filter((history) => history.length > 0),
      this.random,
    );
    const probeOrders = distillation.map((set) => shuffleInPlace(Int32Array.from(set.probes.keys()), this.random));

    const userSteps = Math.ceil(users.length / batchSize);
    const probeCount = distillation.reduce((total, set) => total + set.probes.length, 0);
    const steps = Math.max(userSteps, Math.ceil(probeCount / maxProbeBatchSize));
    const probeBatchSizes = distillation.map((set) => Math.ceil(set.probes.length / Math.max(steps, 1)));

    let recommendationTotal = 0;
    let distillationTotal = 0;
    for (let step = 0; step < steps; step++) {
      const userBatch = users.slice(step * batchSize, (step + 1) * batchSize);
      const examples = userBatch.map((history) =>
        corruptHistory(history, keepProbability, targets, this.random, singleItemShare),
      );
      const probeBatches = distillation.map((set, k) => ({
        set,
        rows: wrappedSlice(probeOrders[k], step, probeBatchSizes[k]),
      }));

      const losses = this.trainStep(examples, probeBatches);
      recommendationTotal += losses.recommendation;
      distillationTotal += losses.distillation;
    }

    return {
      recommendation: steps > 0 ? recommendationTotal / steps : 0,
      distillation: steps > 0 ? distillationTotal / steps : 0,
      steps,
    };
  }

  /**
   * Takes one Adam step on the given examples and probes. The loss is the multinomial loss averaged
   * over `examples`, plus weight · τ² · KL averaged over the batch's probes for each distillation
   * batch and each of its targets of nonzero weight. A step in which no term applies changes
   * nothing, where tfjs would raise an error.
   */
  trainStep(examples: readonly RecommendationExample[], distillation: readonly DistillationBatch[] = []): StepLosses {
    this.clearGradients();
    let applied = false;

    let recommendation = 0;
    if (examples.length > 0) {
      recommendation = this.addRecommendationGradients(examples);
      applied = true;
    }

    let distilled = 0;
    for (const batch of distillation) {
      const term = this.addDistillationGradients(batch);
      if (term === null) continue;
      distilled += term;
      applied = true;
    }

    if (applied) this.adam.step(this.parameterList(), this.gradientList());
    return { recommendation, distillation: distilled };
  }

  /** Returns copies of the weights in the named layout of Student.getWeights(). */
  getWeights(): Map<string, Float32Array> {
    return namedWeightsOf(this.config, this.parameters);
  }

  /** Replaces the weights and keeps the Adam moments, as setting a student's weights does in tfjs. */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    copyNamedWeightsInto(this.config, weights, this.parameters);
  }

  private addRecommendationGradients(examples: readonly RecommendationExample[]): number {
    const { itemCount, maxContextLength, recencyHalfLife } = this.config;
    const batch = packContexts(
      examples.map((example) => example.context),
      maxContextLength,
      recencyHalfLife,
    );
    const encoded = encodeContexts(batch, this.config, this.parameters);
    const shape: ScoringShape = {
      batchRows: encoded.paddedRows,
      itemRows: paddedRowCount(itemCount),
      width: outputDimOf(this.config),
    };

    const logits = new Float64Array(shape.batchRows * shape.itemRows);
    scoreItems(encoded.hidden, this.parameters.outputEmbeddings, this.parameters.outputBias, shape, logits);

    const logitGradient = new Float64Array(logits.length);
    let loss = 0;
    for (let b = 0; b < examples.length; b++) {
      loss += writeMultinomialGradient(logits, b * shape.itemRows, itemCount, examples[b].targets, 1 / examples.length, logitGradient);
    }

    const hiddenGradient = new Float64Array(shape.batchRows * shape.width);
    accumulateItemGradients(logitGradient, encoded.hidden, shape, this.gradients.outputEmbeddings, this.gradients.outputBias);
    accumulateHiddenGradients(logitGradient, this.parameters.outputEmbeddings, shape, hiddenGradient);
    backpropagateContexts(batch, encoded, hiddenGradient, this.config, this.parameters, this.gradients, this.touchedInputRows);
    return loss / examples.length;
  }

  /** Returns the weighted distillation loss of the batch, or null when no target applies. */
  private addDistillationGradients({ set, rows }: DistillationBatch): number | null {
    const activeTargets = set.targets.filter((target) => target.weight !== 0);
    if (rows.length === 0 || activeTargets.length === 0) return null;

    const { itemCount, maxContextLength, recencyHalfLife } = this.config;
    const candidateCount = set.candidates.length;
    const width = outputDimOf(this.config);
    for (const target of activeTargets) {
      if (target.logits.length !== set.probes.length * candidateCount) {
        throw new Error(
          `Distillation target has ${target.logits.length} logits, expected probes × candidates = ` +
            `${set.probes.length} × ${candidateCount}. Pass teacher logits for every probe and candidate of the set.`,
        );
      }
    }

    // Gather the candidates' output rows into a block the scoring kernels can read.
    const itemRows = paddedRowCount(candidateCount);
    const candidateVectors = new Float32Array(itemRows * width);
    const candidateBias = new Float32Array(itemRows);
    for (let c = 0; c < candidateCount; c++) {
      const item = set.candidates[c];
      if (item < 0 || item >= itemCount) {
        throw new Error(
          `Distillation candidate ${item} is outside the catalog of ${itemCount} items. ` +
            'Use item indices of the student catalog.',
        );
      }
      candidateVectors.set(this.parameters.outputEmbeddings.subarray(item * width, (item + 1) * width), c * width);
      candidateBias[c] = this.parameters.outputBias[item];
    }

    const batch = packContexts(
      Array.from(rows, (row) => set.probes[row]),
      maxContextLength,
      recencyHalfLife,
    );
    const encoded = encodeContexts(batch, this.config, this.parameters);
    const shape: ScoringShape = { batchRows: encoded.paddedRows, itemRows, width };
    const logits = new Float64Array(shape.batchRows * itemRows);
    scoreItems(encoded.hidden, candidateVectors, candidateBias, shape, logits);

    // Each term is weight · τ² · mean over probes of KL, so its gradient carries weight · τ² / probes.
    const logitGradient = new Float64Array(logits.length);
    const temperature = set.temperature;
    let loss = 0;
    for (const target of activeTargets) {
      const scale = (target.weight * temperature * temperature) / rows.length;
      let divergence = 0;
      for (let q = 0; q < rows.length; q++) {
        divergence += addDistillationGradient(
          logits,
          q * itemRows,
          target.logits,
          rows[q] * candidateCount,
          candidateCount,
          temperature,
          scale,
          logitGradient,
        );
      }
      loss += scale * divergence;
    }

    const candidateGradient = new Float64Array(candidateVectors.length);
    const candidateBiasGradient = new Float64Array(itemRows);
    const hiddenGradient = new Float64Array(shape.batchRows * width);
    accumulateItemGradients(logitGradient, encoded.hidden, shape, candidateGradient, candidateBiasGradient);
    accumulateHiddenGradients(logitGradient, candidateVectors, shape, hiddenGradient);

    // Scatter the candidates' gradients back to their rows. A repeated candidate adds up, as in the gradient of tf.gather.
    for (let c = 0; c < candidateCount; c++) {
      const item = set.candidates[c];
      for (let k = 0; k < width; k++) this.gradients.outputEmbeddings[item * width + k] += candidateGradient[c * width + k];
      this.gradients.outputBias[item] += candidateBiasGradient[c];
    }

    backpropagateContexts(batch, encoded, hiddenGradient, this.config, this.parameters, this.gradients, this.touchedInputRows);
    return loss;
  }

  /** Zeroes the gradients. Only the input-embedding rows of the previous step can be nonzero there. */
  private clearGradients(): void {
    const embeddingDim = this.config.embeddingDim;
    for (const row of this.touchedInputRows.rows) {
      this.gradients.inputEmbeddings.fill(0, row * embeddingDim, (row + 1) * embeddingDim);
    }
    this.touchedInputRows.clear();

    this.gradients.hiddenKernel?.fill(0);
    this.gradients.hiddenBias?.fill(0);
    this.gradients.outputEmbeddings.fill(0);
    this.gradients.outputBias.fill(0);
  }

  private parameterList(): Float32Array[] {
    const { inputEmbeddings, hiddenKernel, hiddenBias, outputEmbeddings, outputBias } = this.parameters;
    return [inputEmbeddings, hiddenKernel, hiddenBias, outputEmbeddings, outputBias].filter((values) => values !== null);
  }

  private gradientList(): Float64Array[] {
    const { inputEmbeddings, hiddenKernel, hiddenBias, outputEmbeddings, outputBias } = this.gradients;
    return [inputEmbeddings, hiddenKernel, hiddenBias, outputEmbeddings, outputBias].filter((values) => values !== null);
  }
}

/** `size` values of `values` starting at step × size, wrapping around to the start. */
function wrappedSlice(values: Int32Array, step: number, size: number): Int32Array {
  if (values.length === 0) return new Int32Array(0);
  const count = Math.min(size, values.length);
  const start = (step * size) % values.length;
  const slice = new Int32Array(count);
  for (let k = 0; k < count; k++) slice[k] = values[(start + k) % values.length];
  return slice;
}

function validateStudentConfig(config: StudentConfig): void {
  if (config.architecture !== 'pooled-embedding') {
    throw new Error(
      `Typed-array trainer supports the pooled-embedding student only, got architecture "${String(config.architecture)}". ` +
        'Train other students with StudentTrainer.',
    );
  }
  for (const key of ['itemCount', 'embeddingDim', 'maxContextLength'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`Typed-array trainer: student ${key} must be a positive integer, got ${value}.`);
    }
  }
  if (!Number.isInteger(config.hiddenDim) || config.hiddenDim < 0) {
    throw new Error(
      `Typed-array trainer: student hiddenDim must be 0 (no hidden layer) or a positive integer, got ${config.hiddenDim}.`,
    );
  }
  if (!(config.recencyHalfLife >= 0)) {
    throw new Error(`Typed-array trainer: student recencyHalfLife must be 0 or positive, got ${config.recencyHalfLife}.`);
  }
}

function validateTrainingConfig(training: TrainingConfig): void {
  for (const key of ['batchSize', 'maxProbeBatchSize'] as const) {
    const value = training[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`Typed-array trainer: training ${key} must be a positive integer, got ${value}.`);
    }
  }
}
