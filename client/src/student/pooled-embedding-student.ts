// The reference student: mean-pooled input item embeddings, an optional tanh hidden layer, then
// one logit per item from output item embeddings plus a bias. Trained with a multinomial
// likelihood over items, as multinomial autoencoders are. Without the hidden layer the logits
// of a context are the mean of the logits of its items, so knowledge distilled on single-item
// probes carries over to every user history.
import * as tf from '@tensorflow/tfjs';

import type { ContextBatch } from './context-batch.js';
import { matMul } from './dense-matmul.js';
import type { Student, StudentConfig } from './student.js';

const INPUT_EMBEDDING_STDDEV = 0.05;

export class PooledEmbeddingStudent implements Student {
  private readonly inputEmbeddings: tf.Variable<tf.Rank.R2>;
  private readonly hiddenKernel: tf.Variable<tf.Rank.R2> | null;
  private readonly hiddenBias: tf.Variable<tf.Rank.R1> | null;
  private readonly outputEmbeddings: tf.Variable<tf.Rank.R2>;
  private readonly outputBias: tf.Variable<tf.Rank.R1>;

  constructor(readonly config: StudentConfig) {
    validateConfig(config);
    const { itemCount, embeddingDim, hiddenDim, seed } = config;
    const outputDim = hiddenDim > 0 ? hiddenDim : embeddingDim;

    this.inputEmbeddings = trainable('inputEmbeddings', () =>
      tf.randomNormal([itemCount, embeddingDim], 0, INPUT_EMBEDDING_STDDEV, 'float32', seed),
    );
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
    return tf.tidy(() => {
      const indices = tf.tensor2d(batch.indices, [batch.size, batch.width], 'int32');
      const weights = tf.tensor3d(batch.weights, [batch.size, batch.width, 1]);
      const pooled = tf.sum(tf.mul(tf.gather(this.inputEmbeddings, indices), weights), 1) as tf.Tensor2D;

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

  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const [name, variable] of this.namedVariables()) {
      const values = weights.get(name);
      if (values === undefined) {
        throw new Error(`Student weights lack "${name}". Load weights saved by the same architecture.`);
      }
      if (values.length !== variable.size) {
        throw new Error(
          `Student weight "${name}" has ${values.length} values but the student expects ` +
            `${variable.size} (shape ${variable.shape.join('×')}). Check the item count and dimensions.`,
        );
      }
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    }
  }

  dispose(): void {
    for (const [, variable] of this.namedVariables()) variable.dispose();
  }

  private namedVariables(): Array<[string, tf.Variable]> {
    const named: Array<[string, tf.Variable]> = [['inputEmbeddings', this.inputEmbeddings]];
    if (this.hiddenKernel && this.hiddenBias) {
      named.push(['hiddenKernel', this.hiddenKernel], ['hiddenBias', this.hiddenBias]);
    }
    named.push(['outputEmbeddings', this.outputEmbeddings], ['outputBias', this.outputBias]);
    return named;
  }
}

/** Creates a variable without leaking the initial tensor, which tf.variable would keep alive. */
function trainable<R extends tf.Rank>(name: string, initialize: () => tf.Tensor<R>): tf.Variable<R> {
  return tf.tidy(() => tf.variable(initialize(), true, `${name}_${nextVariableId++}`));
}

let nextVariableId = 0;

function validateConfig(config: StudentConfig): void {
  const positive: Array<keyof StudentConfig> = ['itemCount', 'embeddingDim', 'maxContextLength'];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error(`Student ${key} must be a positive integer, got ${String(value)}.`);
    }
  }
  if (!Number.isInteger(config.hiddenDim) || config.hiddenDim < 0) {
    throw new Error(`Student hiddenDim must be 0 (no hidden layer) or a positive integer, got ${config.hiddenDim}.`);
  }
}
