// Confidence weighting. For each probe, the teacher is the mixture of the clients' candidate
// distributions in which a client counts more the lower the entropy of its prediction. Use it when
// some clients are sure about a probe and others are close to uniform on it.

import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { validateClientLogits } from './client-logits-validation.js';
import { addWeightedSoftmax, logOfMixture } from './probability-mixture.js';

/** Weight every client gets on every probe, so a probe where all clients are uniform still gets the plain mean. */
const CONFIDENCE_FLOOR = 0.01;

/**
 * Per probe, mixes the clients' softmax distributions with weight max(0, 1 − H / log(candidates))
 * plus a small floor, where H is the entropy of the client's distribution in nats.
 * Returns the log of the mixture.
 */
export class ConfidenceWeightedProbabilities implements AggregationStrategy {
  readonly name = 'confidence-weighted';

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    validateClientLogits(inputs, shape);

    const { probes, candidates } = shape;
    const mixture = new Float64Array(probes * candidates);
    const totalWeight = new Float64Array(probes);

    // The entropy of a uniform distribution is log(candidates). With one candidate that is 0, and
    // every client is fully confident.
    const maxEntropy = Math.log(candidates);

    for (const input of inputs) {
      for (let q = 0; q < probes; q++) {
        const offset = q * candidates;
        const normalizedEntropy = maxEntropy > 0 ? softmaxEntropy(input.logits, offset, candidates) / maxEntropy : 0;
        const weight = Math.max(0, 1 - normalizedEntropy) + CONFIDENCE_FLOOR;

        totalWeight[q] += weight;
        addWeightedSoftmax(input.logits, offset, candidates, weight, mixture);
      }
    }

    const teacher = new Float32Array(probes * candidates);
    for (let q = 0; q < probes; q++) {
      for (let j = 0; j < candidates; j++) {
        teacher[q * candidates + j] = logOfMixture(mixture[q * candidates + j], totalWeight[q]);
      }
    }
    return teacher;
  }
}

/**
 * Computes the entropy in nats of softmax(logits[offset .. offset + width)).
 * It uses H = log Z − Σ p_j (x_j − max), which needs no log of a probability and so stays finite when one is 0.
 */
function softmaxEntropy(logits: Float32Array, offset: number, width: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < width; j++) max = Math.max(max, logits[offset + j]);

  let partition = 0;
  let weightedShift = 0;
  for (let j = 0; j < width; j++) {
    const shifted = logits[offset + j] - max;
    const unnormalized = Math.exp(shifted);
    partition += unnormalized;
    weightedShift += unnormalized * shifted;
  }

  // Rounding can leave a tiny negative value for a one-hot distribution.
  return Math.max(0, Math.log(partition) - weightedShift / partition);
}
