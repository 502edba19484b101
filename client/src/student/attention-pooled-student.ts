// The attention-pooled student: the context is the attention-weighted sum of its item
// embeddings, then an optional tanh hidden layer, then one logit per item from output item
// embeddings plus a bias, as in the pooled-embedding student.
//
// Each context item gets an attention score: a one-hidden-layer ReLU network over its embedding
// plus a learned recency score for its age (0 for the most recent item). A softmax over the
// context's real items turns the scores into weights. So the student learns how much each item
// counts for a user and how fast older items fade, while the pooled-embedding student weighs
// items by a fixed half-life.
//
// Attention pooling of item embeddings follows NAIS (He et al., 2018, "NAIS: Neural Attentive
// Item Similarity Model for Recommendation"). NAIS scores a history item against the candidate
// item. Here the score depends on the context item alone, so one pooled vector scores every item
// and an epoch still costs users × items × dimension.
import * as tf from '@tensorflow/tfjs';

import type { ContextBatch } from './context-batch.js';
import { matMul } from './dense-matmul.js';
import type { AttentionPooledStudentConfig, Student } from './student.js';

/** Width of the attention network's hidden layer when the config does not set attentionDim. */
export const DEFAULT_ATTENTION_DIM = 16;

const INPUT_EMBEDDING_STDDEV = 0.05;

/** Added to the scores of padding entries, so that the softmax gives them zero weight. */
const PADDING_SCORE_OFFSET = -1e9;

/** Item-indexed weights: their first dimension is the item count. */
const ITEM_WEIGHT_NAMES = new Set(['inputEmbeddings', 'outputEmbeddings', 'outputBias']);

/** A config with attentionDim filled in. */
export type ResolvedAttentionPooledStudentConfig = AttentionPooledStudentConfig & { attentionDim: number };

/** A student that pools its context with learned attention weights, as the file header describes. */
export class AttentionPooledStudent implements Student {
  readonly config: ResolvedAttentionPooledStudentConfig;
  private readonly inputEmbeddings: tf.Variable<tf.Rank.R2>;
  private readonly attentionKernel: tf.Variable<tf.Rank.R2>;
  private readonly attentionBias: tf.Variable<tf.Rank.R1>;
  private readonly attentionOutput: tf.Variable<tf.Rank.R2>;
  private readonly recencyScores: tf.Variable<tf.Rank.R1>;
  private readonly hiddenKernel: tf.Variable<tf.Rank.R2> | null;
  private readonly hiddenBias: tf.Variable<tf.Rank.R1> | null;
  private readonly outputEmbeddings: tf.Variable<tf.Rank.R2>;
  private readonly outputBias: tf.Variable<tf.Rank.R1>;

  constructor(config: AttentionPooledStudentConfig) {
    this.config = { ...config, attentionDim: config.attentionDim ?? DEFAULT_ATTENTION_DIM };
    validateConfig(this.config);
    const { itemCount, embeddingDim, hiddenDim, attentionDim, maxContextLength, recencyHalfLife, seed } = this.config;
    const outputDim = hiddenDim > 0 ? hiddenDim : embeddingDim;

    this.inputEmbeddings = trainable('inputEmbeddings', () =>
      tf.randomNormal([itemCount, embeddingDim], 0, INPUT_EMBEDDING_STDDEV, 'float32', seed),
    );

    // He initialisation for the ReLU layer. With small input embeddings the first scores are
    // nearly equal, so the student starts out close to recency-weighted mean pooling.
    this.attentionKernel = trainable('attentionKernel', () =>
      tf.randomNormal([embeddingDim, attentionDim], 0, Math.sqrt(2 / embeddingDim), 'float32', seed + 3),
    );
    this.attentionBias = trainable('attentionBias', () => tf.zeros([attentionDim]));
    this.attentionOutput = trainable('attentionOutput', () =>
      tf.randomNormal([attentionDim, 1], 0, Math.sqrt(1 / attentionDim), 'float32', seed + 4),
    );
    this.recencyScores = trainable('recencyScores', () => tf.tensor1d(initialRecencyScores(maxContextLength, recencyHalfLife)));

    this.hiddenKernel =
      hiddenDim > 0
        ? trainable('hiddenKernel', () =>
            tf.randomNormal([embeddingDim, hiddenDim], 0, Math.sqrt(1 / embeddingDim), 'float32', seed + 1),
          )
        : null;
    this.hiddenBias = hiddenDim > 0 ? trainable('hiddenBias', () => tf.zeros([hiddenDim])) : null;
    this.outputEmbeddings = trainable('outputEmbeddings', () =>
      tf.randomNormal([itemCount, outputDim], 0, Math.sqrt(1 / outputDim), 'float32', seed + 2),
    );
    this.outputBias = trainable('outputBias', () => tf.zeros([itemCount]));
  }

  logits(batch: ContextBatch, candidates?: tf.Tensor1D): tf.Tensor2D {
    const layout = contextLayout(batch);

    return tf.tidy(() => {
      const indices = tf.tensor2d(batch.indices, [batch.size, batch.width], 'int32');
      const embeddings = tf.gather(this.inputEmbeddings as tf.Tensor, indices) as tf.Tensor3D;

      const ages = tf.tensor2d(layout.ages, [batch.size, batch.width], 'int32');
      const scores = tf.add(this.contentScores(embeddings), tf.gather(this.recencyScores, ages));
      const maskedScores = tf.add(scores, tf.tensor2d(layout.scoreOffsets, [batch.size, batch.width]));

      // Multiplying by the mask zeroes the weights of a context without items, whose softmax
      // would otherwise spread over padding. It then pools to the zero vector.
      const attention = tf.mul(tf.softmax(maskedScores), tf.tensor2d(layout.mask, [batch.size, batch.width]));
      const pooled = tf.sum(tf.mul(embeddings, tf.expandDims(attention, 2)), 1) as tf.Tensor2D;

      const hidden: tf.Tensor2D =
        this.hiddenKernel && this.hiddenBias
          ? (tf.tanh(tf.add(matMul(pooled, this.hiddenKernel), this.hiddenBias)) as tf.Tensor2D)
          : pooled;

      const itemVectors = candidates ? tf.gather(this.outputEmbeddings, candidates) : this.outputEmbeddings;
      const itemBias = candidates ? tf.gather(this.outputBias, candidates) : this.outputBias;
      return tf.add(matMul(hidden, tf.transpose(itemVectors as tf.Tensor2D)), itemBias) as tf.Tensor2D;
    });
  }

  trainableVariables(): tf.Variable[] {
    return this.namedVariables().map(([, variable]) => variable);
  }

  getWeights(): Map<string, Float32Array> {
    return new Map(this.namedVariables().map(([name, variable]) => [name, variable.dataSync() as Float32Array]));
  }

  /** Replaces every weight. Checks all of them first, so a mismatch leaves the student unchanged. */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    const named = this.namedVariables();
    const expectedNames = new Set(named.map(([name]) => name));
    for (const name of weights.keys()) {
      if (!expectedNames.has(name)) {
        throw new Error(
          `Student weights contain "${name}", which an attention-pooled student with hiddenDim ` +
            `${this.config.hiddenDim} does not have. Load weights saved by a student of the same architecture and config.`,
        );
      }
    }
    for (const [name, variable] of named) {
      const values = weights.get(name);
      if (values === undefined) {
        throw new Error(`Student weights lack "${name}". Load weights saved by an attention-pooled student of the same config.`);
      }
      if (values.length !== variable.size) throw new Error(this.describeSizeMismatch(name, variable, values.length));
    }

    for (const [name, variable] of named) {
      const values = weights.get(name)!;
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    }
  }

  dispose(): void {
    for (const [, variable] of this.namedVariables()) variable.dispose();
  }

  /** Computes the attention network's score of every context entry: [batch × width]. */
  private contentScores(embeddings: tf.Tensor3D): tf.Tensor2D {
    const [size, width, embeddingDim] = embeddings.shape;
    const entries = tf.reshape(embeddings, [size * width, embeddingDim]) as tf.Tensor2D;

    const hidden = tf.relu(tf.add(matMul(entries, this.attentionKernel), this.attentionBias)) as tf.Tensor2D;

    return tf.reshape(matMul(hidden, this.attentionOutput), [size, width]) as tf.Tensor2D;
  }

  private describeSizeMismatch(name: string, variable: tf.Variable, length: number): string {
    const found = `Student weight "${name}" has ${length} values but this student expects ${variable.size} (shape ${variable.shape.join('×')})`;
    const valuesPerItem = variable.size / this.config.itemCount;
    if (ITEM_WEIGHT_NAMES.has(name) && length % valuesPerItem === 0) {
      return (
        `${found}: the weights are for ${length / valuesPerItem} items and this student has ${this.config.itemCount}. ` +
        'Build the student with the item count of the weights, or retrain it on this catalog.'
      );
    }
    return `${found}. Build the student with the dimensions the weights were saved with.`;
  }

  private namedVariables(): Array<[string, tf.Variable]> {
    const named: Array<[string, tf.Variable]> = [
      ['inputEmbeddings', this.inputEmbeddings],
      ['attentionKernel', this.attentionKernel],
      ['attentionBias', this.attentionBias],
      ['attentionOutput', this.attentionOutput],
      ['recencyScores', this.recencyScores],
    ];
    if (this.hiddenKernel && this.hiddenBias) {
      named.push(['hiddenKernel', this.hiddenKernel], ['hiddenBias', this.hiddenBias]);
    }
    named.push(['outputEmbeddings', this.outputEmbeddings], ['outputBias', this.outputBias]);
    return named;
  }
}

/** Per-entry inputs of the attention that come from the batch layout rather than from weights. */
interface ContextLayout {
  /** [size × width] age of each real item, 0 for the most recent; 0 for padding. */
  ages: Int32Array;
  /** [size × width] 0 for real items, a large negative number for padding. */
  scoreOffsets: Float32Array;
  /** [size × width] 1 for real items, 0 for padding. */
  mask: Float32Array;
}

/**
 * Reads which entries of a packed batch are real items. packContexts puts a context's items first,
 * oldest first, and pads the rest of the row. Padding has weight 0, and the most recent item always
 * has a positive weight. So a row's length is one past its last positive weight. Older items can
 * have weight 0 too, when a short half-life underflows float32, so a zero weight alone does not
 * mark padding.
 */
function contextLayout(batch: ContextBatch): ContextLayout {
  const entries = batch.size * batch.width;
  const ages = new Int32Array(entries);
  const scoreOffsets = new Float32Array(entries).fill(PADDING_SCORE_OFFSET);
  const mask = new Float32Array(entries);

  for (let row = 0; row < batch.size; row++) {
    const start = row * batch.width;
    let length = batch.width;
    while (length > 0 && batch.weights[start + length - 1] === 0) length--;

    for (let k = 0; k < length; k++) {
      ages[start + k] = length - 1 - k;
      scoreOffsets[start + k] = 0;
      mask[start + k] = 1;
    }
  }
  return { ages, scoreOffsets, mask };
}

/**
 * log(2^(−age / halfLife)) for ages 0 to maxContextLength − 1, or zeros without a half-life. While
 * the content scores are equal, a softmax over these scores gives the weights of packContexts.
 */
function initialRecencyScores(maxContextLength: number, recencyHalfLife: number): Float32Array {
  const scores = new Float32Array(maxContextLength);
  if (recencyHalfLife > 0) {
    for (let age = 0; age < maxContextLength; age++) scores[age] = (-age * Math.LN2) / recencyHalfLife;
  }
  return scores;
}

/**
 * Creates a variable without leaking the initial tensor, which tf.variable would keep alive. The
 * prefix keeps its name apart from the pooled-embedding student's, because TensorFlow.js rejects a
 * second variable of the same name.
 */
function trainable<R extends tf.Rank>(name: string, initialize: () => tf.Tensor<R>): tf.Variable<R> {
  return tf.tidy(() => tf.variable(initialize(), true, `attentionPooled_${name}_${nextVariableId++}`));
}

let nextVariableId = 0;

function validateConfig(config: ResolvedAttentionPooledStudentConfig): void {
  if (config.architecture !== 'attention-pooled') {
    throw new Error(
      `AttentionPooledStudent got a config for architecture "${String(config.architecture)}". ` +
        'Build students with createStudent, which picks the class from the architecture.',
    );
  }

  const positive = ['itemCount', 'embeddingDim', 'maxContextLength', 'attentionDim'] as const;
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error(`Student ${key} must be a positive integer, got ${String(value)}.`);
    }
  }
  if (!Number.isInteger(config.hiddenDim) || config.hiddenDim < 0) {
    throw new Error(`Student hiddenDim must be 0 (no hidden layer) or a positive integer, got ${config.hiddenDim}.`);
  }
  if (typeof config.recencyHalfLife !== 'number' || !(config.recencyHalfLife >= 0)) {
    throw new Error(`Student recencyHalfLife must be 0 (no recency) or a positive number of items, got ${String(config.recencyHalfLife)}.`);
  }
}
