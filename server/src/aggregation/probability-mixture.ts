// Shared arithmetic of the aggregation rules that mix probability distributions.

/** The smallest positive float32, so that log() of a mixture entry with no mass stays finite. */
const SMALLEST_PROBABILITY = 1.4e-45;

/** Adds weight · softmax(logits[offset .. offset + width)) into mixture[offset ..]. */
export function addWeightedSoftmax(
  logits: Float32Array,
  offset: number,
  width: number,
  weight: number,
  mixture: Float64Array,
): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < width; j++) max = Math.max(max, logits[offset + j]);
  let partition = 0;
  for (let j = 0; j < width; j++) partition += Math.exp(logits[offset + j] - max);
  for (let j = 0; j < width; j++) mixture[offset + j] += (weight * Math.exp(logits[offset + j] - max)) / partition;
}

/** log(mixture / total), floored so that every value is finite. */
export function logOfMixture(mixture: number, total: number): number {
  return Math.log(Math.max(mixture / total, SMALLEST_PROBABILITY));
}
