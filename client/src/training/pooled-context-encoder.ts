// The context side of the pooled-embedding student on typed arrays: the weighted mean of input
// item embeddings, then the optional tanh hidden layer, and the backward pass of both.
import type { ContextBatch } from '../student/context-batch.js';
import type { StudentConfig } from '../student/student.js';
import { paddedRowCount } from './item-scoring-kernels.js';
import { type TypedStudentGradients, type TypedStudentParameters, outputDimOf } from './typed-student-parameters.js';

/** The forward pass of a batch, kept for the backward pass. */
export interface EncodedContexts {
  /** Real rows of the batch. */
  size: number;
  /** size padded to a multiple of BLOCK_ROWS. The padding rows of pooled and hidden are zero. */
  paddedRows: number;
  /** [paddedRows × embeddingDim] pooled input embeddings. */
  pooled: Float64Array;
  /** [paddedRows × outputDim] vectors that score items. Without a hidden layer this is the pooled array. */
  hidden: Float64Array;
}

/** Input-embedding rows that received a gradient in the current step. */
export class TouchedRows {
  readonly rows: number[] = [];
  private readonly marked: Uint8Array;

  constructor(rowCount: number) {
    this.marked = new Uint8Array(rowCount);
  }

  add(row: number): void {
    if (this.marked[row] === 1) return;
    this.marked[row] = 1;
    this.rows.push(row);
  }

  clear(): void {
    for (const row of this.rows) this.marked[row] = 0;
    this.rows.length = 0;
  }
}

/** Runs the context side of the student on a packed batch. */
export function encodeContexts(
  batch: ContextBatch,
  config: StudentConfig,
  parameters: TypedStudentParameters,
): EncodedContexts {
  const { embeddingDim, hiddenDim, itemCount } = config;
  const paddedRows = paddedRowCount(batch.size);
  const pooled = new Float64Array(paddedRows * embeddingDim);

  // Padding entries of the batch have weight 0 and contribute nothing, so they are skipped.
  for (let b = 0; b < batch.size; b++) {
    for (let k = 0; k < batch.width; k++) {
      const weight = batch.weights[b * batch.width + k];
      if (weight === 0) continue;
      const item = batch.indices[b * batch.width + k];
      if (item < 0 || item >= itemCount) {
        throw new Error(
          `Invalid context in batch row ${b}: item ${item} is outside the catalog of ${itemCount} items. ` +
            'Use item indices of the student catalog.',
        );
      }
      addScaled(pooled, b * embeddingDim, parameters.inputEmbeddings, item * embeddingDim, embeddingDim, weight);
    }
  }

  if (hiddenDim === 0) return { size: batch.size, paddedRows, pooled, hidden: pooled };

  const kernel = parameters.hiddenKernel!;
  const hiddenBias = parameters.hiddenBias!;
  const hidden = new Float64Array(paddedRows * hiddenDim);
  for (let b = 0; b < batch.size; b++) {
    for (let h = 0; h < hiddenDim; h++) {
      let sum = hiddenBias[h];
      for (let e = 0; e < embeddingDim; e++) sum += pooled[b * embeddingDim + e] * kernel[e * hiddenDim + h];
      hidden[b * hiddenDim + h] = Math.tanh(sum);
    }
  }
  return { size: batch.size, paddedRows, pooled, hidden };
}

/**
 * Back-propagates hiddenGradient [paddedRows × outputDim], the gradient of the loss with respect
 * to encoded.hidden, into the hidden layer and into the rows of the input embeddings that the
 * batch uses. Those rows are recorded in `touched`.
 */
export function backpropagateContexts(
  batch: ContextBatch,
  encoded: EncodedContexts,
  hiddenGradient: Float64Array,
  config: StudentConfig,
  parameters: TypedStudentParameters,
  gradients: TypedStudentGradients,
  touched: TouchedRows,
): void {
  const { embeddingDim, hiddenDim } = config;
  const outputDim = outputDimOf(config);
  let pooledGradient = hiddenGradient;

  if (hiddenDim > 0) {
    const kernel = parameters.hiddenKernel!;
    const kernelGradient = gradients.hiddenKernel!;
    const hiddenBiasGradient = gradients.hiddenBias!;
    pooledGradient = new Float64Array(encoded.paddedRows * embeddingDim);

    for (let b = 0; b < encoded.size; b++) {
      for (let h = 0; h < outputDim; h++) {
        // tanh'(x) = 1 − tanh(x)².
        const activation = encoded.hidden[b * outputDim + h];
        const preActivationGradient = hiddenGradient[b * outputDim + h] * (1 - activation * activation);
        hiddenBiasGradient[h] += preActivationGradient;
        for (let e = 0; e < embeddingDim; e++) {
          kernelGradient[e * hiddenDim + h] += encoded.pooled[b * embeddingDim + e] * preActivationGradient;
          pooledGradient[b * embeddingDim + e] += kernel[e * hiddenDim + h] * preActivationGradient;
        }
      }
    }
  }

  for (let b = 0; b < encoded.size; b++) {
    for (let k = 0; k < batch.width; k++) {
      const weight = batch.weights[b * batch.width + k];
      if (weight === 0) continue;
      const item = batch.indices[b * batch.width + k];
      touched.add(item);
      addScaled(gradients.inputEmbeddings, item * embeddingDim, pooledGradient, b * embeddingDim, embeddingDim, weight);
    }
  }
}

/** target[targetOffset + k] += scale · source[sourceOffset + k] for k < length. */
function addScaled(
  target: Float64Array,
  targetOffset: number,
  source: Float32Array | Float64Array,
  sourceOffset: number,
  length: number,
  scale: number,
): void {
  for (let k = 0; k < length; k++) target[targetOffset + k] += scale * source[sourceOffset + k];
}
