// The student contract: an inductive recommender that scores items for any context, where a
// context is a list of item ids (a user's history or a probe of the transfer set).
import type * as tf from '@tensorflow/tfjs';

import type { ContextBatch } from './context-batch.js';

export interface StudentConfig {
  architecture: 'pooled-embedding';
  itemCount: number;
  /** Width of the item embeddings. */
  embeddingDim: number;
  /** Width of the tanh hidden layer after pooling, or 0 for none. */
  hiddenDim: number;
  /** Longest context the student reads; longer ones keep their most recent items. */
  maxContextLength: number;
  /** Pooling weights halve every this many items back in the context; 0 pools uniformly. */
  recencyHalfLife: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

export interface Student {
  readonly config: StudentConfig;

  /** Logits [batch × candidates], or [batch × itemCount] without candidates. Differentiable. */
  logits(batch: ContextBatch, candidates?: tf.Tensor1D): tf.Tensor2D;

  /** The trainable variables, for an optimizer. */
  trainableVariables(): tf.Variable[];

  /** Copies of the weights by name, for saving, for averaging or for a snapshot. */
  getWeights(): Map<string, Float32Array>;

  setWeights(weights: ReadonlyMap<string, Float32Array>): void;

  dispose(): void;
}
