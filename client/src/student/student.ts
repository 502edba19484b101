// The student contract: an inductive recommender that scores items for any context, where a
// context is a list of item ids (a user's history or a probe of the transfer set).
import type * as tf from '@tensorflow/tfjs';

import type { ContextBatch } from './context-batch.js';

/** Fields that every student architecture reads. */
interface SharedStudentConfig {
  itemCount: number;
  /** Width of the item embeddings. */
  embeddingDim: number;
  /** Width of the tanh hidden layer after pooling, or 0 for none. */
  hiddenDim: number;
  /** Longest context the student reads; longer ones keep their most recent items. */
  maxContextLength: number;
  /**
   * Recency in items: the weight of an item halves every this many items back in the context,
   * and 0 gives every item the same weight. The pooled-embedding student pools with these fixed
   * weights. The attention-pooled student starts its learned recency scores from them.
   */
  recencyHalfLife: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

/** Mean (or recency-weighted mean) of the context's item embeddings. */
export interface PooledEmbeddingStudentConfig extends SharedStudentConfig {
  architecture: 'pooled-embedding';
}

/** Attention-weighted sum of the context's item embeddings. */
export interface AttentionPooledStudentConfig extends SharedStudentConfig {
  architecture: 'attention-pooled';
  /**
   * Width of the hidden layer of the network that scores each context item. Optional because
   * settings typed as `Omit<StudentConfig, ...>` keep only the fields that every architecture
   * shares. The student then uses DEFAULT_ATTENTION_DIM and records that value in its `config`.
   */
  attentionDim?: number;
}

/** A student's architecture and size. The `architecture` field selects which other fields apply. */
export type StudentConfig = PooledEmbeddingStudentConfig | AttentionPooledStudentConfig;

/** Name of a student architecture, as `StudentConfig.architecture` spells it. */
export type StudentArchitecture = StudentConfig['architecture'];

/**
 * A student config without the item count and seed, which come from the dataset and the run.
 * Unlike `Omit<StudentConfig, ...>`, it keeps each architecture's own fields, because it omits
 * from each member of the union separately.
 */
export type StudentSettings = StudentConfig extends infer Config
  ? Config extends StudentConfig
    ? Omit<Config, 'itemCount' | 'seed'>
    : never
  : never;

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
