import type { AggregationStrategy, ClientLogits, LogitShape } from './aggregation-strategy.js';
import { addWeightedSoftmax, logOfMixture } from './probability-mixture.js';

/**
 * Default weight every client gets on every probe, so a probe no client has evidence for still
 * gets the plain mean. Evidence counts of cross-silo clients are tens to thousands. A client of
 * one user has evidence 0 or 1, so there a smaller prior keeps the many uninformed clients from
 * outweighing the few informed ones.
 */
export const DEFAULT_EVIDENCE_PRIOR = 0.1;

/**
 * For each probe, the mixture of the clients' candidate distributions weighted by each client's
 * evidence for that probe (its training interactions with the probe's items). With single-item
 * probes this estimates the pooled conditional distribution p(candidate | probe item): clients
 * that never saw the item do not drown out those that did. Returned as log-probabilities.
 */
export class EvidenceWeightedProbabilities implements AggregationStrategy {
  readonly name = 'evidence-weighted';

  constructor(private readonly prior = DEFAULT_EVIDENCE_PRIOR) {
    if (!Number.isFinite(prior) || prior <= 0) {
      throw new Error(`Invalid evidence prior ${prior} for evidence-weighted: expected a finite number greater than 0, such as ${DEFAULT_EVIDENCE_PRIOR}.`);
    }
  }

  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array {
    const { probes, candidates } = shape;
    const mixture = new Float64Array(probes * candidates);
    const totalWeight = new Float64Array(probes);

    for (const input of inputs) {
      if (input.logits.length !== probes * candidates || input.probeEvidence.length !== probes) {
        throw new Error(
          `Upload of client ${input.clientId} does not match ${probes} probes × ${candidates} candidates.`,
        );
      }
      for (let q = 0; q < probes; q++) {
        const weight = input.probeEvidence[q] + this.prior;
        totalWeight[q] += weight;
        addWeightedSoftmax(input.logits, q * candidates, candidates, weight, mixture);
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
