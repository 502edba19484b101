// The weights of a PooledEmbeddingStudent as plain typed arrays, for the typed-array trainer, and
// the conversion to and from the named layout of Student.getWeights() and setWeights().
import type { StudentConfig } from '../student/student.js';
import { paddedRowCount } from './item-scoring-kernels.js';

/**
 * Row-major float32 parameters of the pooled-embedding student. The output tables have
 * paddedRowCount(itemCount) rows, and the rows past itemCount stay zero, so the scoring kernels
 * can work on whole blocks of rows.
 */
export interface TypedStudentParameters {
  /** [itemCount × embeddingDim] */
  inputEmbeddings: Float32Array;
  /** [embeddingDim × hiddenDim], or null without a hidden layer. */
  hiddenKernel: Float32Array | null;
  /** [hiddenDim], or null without a hidden layer. */
  hiddenBias: Float32Array | null;
  /** [paddedRowCount(itemCount) × outputDim] */
  outputEmbeddings: Float32Array;
  /** [paddedRowCount(itemCount)] */
  outputBias: Float32Array;
}

/** Gradients with the shapes of TypedStudentParameters, accumulated in float64. */
export interface TypedStudentGradients {
  inputEmbeddings: Float64Array;
  hiddenKernel: Float64Array | null;
  hiddenBias: Float64Array | null;
  outputEmbeddings: Float64Array;
  outputBias: Float64Array;
}

/** Width of the vector that scores items: hiddenDim with a hidden layer, else embeddingDim. */
export function outputDimOf(config: StudentConfig): number {
  return config.hiddenDim > 0 ? config.hiddenDim : config.embeddingDim;
}

/** Names and unpadded value counts, in the order of PooledEmbeddingStudent.getWeights(). */
export function weightLayout(config: StudentConfig): Array<[keyof TypedStudentParameters, number]> {
  const { itemCount, embeddingDim, hiddenDim } = config;
  const layout: Array<[keyof TypedStudentParameters, number]> = [['inputEmbeddings', itemCount * embeddingDim]];
  if (hiddenDim > 0) {
    layout.push(['hiddenKernel', embeddingDim * hiddenDim], ['hiddenBias', hiddenDim]);
  }
  layout.push(['outputEmbeddings', itemCount * outputDimOf(config)], ['outputBias', itemCount]);
  return layout;
}

/** Allocates zero parameters, with padded output tables. */
export function createZeroParameters(config: StudentConfig): TypedStudentParameters {
  const { itemCount, embeddingDim, hiddenDim } = config;
  const paddedItems = paddedRowCount(itemCount);
  return {
    inputEmbeddings: new Float32Array(itemCount * embeddingDim),
    hiddenKernel: hiddenDim > 0 ? new Float32Array(embeddingDim * hiddenDim) : null,
    hiddenBias: hiddenDim > 0 ? new Float32Array(hiddenDim) : null,
    outputEmbeddings: new Float32Array(paddedItems * outputDimOf(config)),
    outputBias: new Float32Array(paddedItems),
  };
}

/** Allocates zero gradients for parameters of the same shapes. */
export function createZeroGradients(parameters: TypedStudentParameters): TypedStudentGradients {
  return {
    inputEmbeddings: new Float64Array(parameters.inputEmbeddings.length),
    hiddenKernel: parameters.hiddenKernel ? new Float64Array(parameters.hiddenKernel.length) : null,
    hiddenBias: parameters.hiddenBias ? new Float64Array(parameters.hiddenBias.length) : null,
    outputEmbeddings: new Float64Array(parameters.outputEmbeddings.length),
    outputBias: new Float64Array(parameters.outputBias.length),
  };
}

/**
 * Copies named weights, as Student.getWeights() returns them, into `parameters`. Throws when a
 * weight is missing or has the wrong number of values.
 */
export function copyNamedWeightsInto(
  config: StudentConfig,
  weights: ReadonlyMap<string, Float32Array>,
  parameters: TypedStudentParameters,
): void {
  for (const [name, expectedLength] of weightLayout(config)) {
    const values = weights.get(name);
    if (values === undefined) {
      throw new Error(
        `Typed-array trainer: weights lack "${name}". Pass the weights of a pooled-embedding student ` +
          'with the same hiddenDim, as Student.getWeights() returns them.',
      );
    }
    if (values.length !== expectedLength) {
      throw new Error(
        `Typed-array trainer: weight "${name}" has ${values.length} values but the configuration ` +
          `expects ${expectedLength}. Check itemCount, embeddingDim and hiddenDim.`,
      );
    }
    parameters[name]!.set(values);
  }
}

/** Copies the parameters out in the named layout of Student.getWeights(), without padding rows. */
export function namedWeightsOf(config: StudentConfig, parameters: TypedStudentParameters): Map<string, Float32Array> {
  return new Map(weightLayout(config).map(([name, length]) => [name, parameters[name]!.slice(0, length)]));
}
