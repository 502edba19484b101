import type { AggregationStrategy } from './aggregation-strategy.js';
import { MeanLogits } from './mean-logits.js';
import { MeanProbabilities } from './mean-probabilities.js';
import { EvidenceWeightedProbabilities } from './evidence-weighted-probabilities.js';

export * from './aggregation-strategy.js';
export * from './mean-logits.js';
export * from './mean-probabilities.js';
export * from './evidence-weighted-probabilities.js';

export const AGGREGATION_STRATEGIES = ['mean-logits', 'mean-probabilities', 'evidence-weighted'] as const;
export type AggregationStrategyName = (typeof AGGREGATION_STRATEGIES)[number];

export function createAggregationStrategy(name: AggregationStrategyName): AggregationStrategy {
  switch (name) {
    case 'mean-logits':
      return new MeanLogits();
    case 'mean-probabilities':
      return new MeanProbabilities();
    case 'evidence-weighted':
      return new EvidenceWeightedProbabilities();
  }
}
