import type { AggregationStrategy } from './aggregation-strategy.js';
import { MeanLogits } from './mean-logits.js';
import { MeanProbabilities } from './mean-probabilities.js';
import { EvidenceWeightedProbabilities } from './evidence-weighted-probabilities.js';
import { DataSizeWeightedLogits } from './data-size-weighted-logits.js';
import { ConfidenceWeightedProbabilities } from './confidence-weighted-probabilities.js';
import { EntropyReduction } from './entropy-reduction.js';
import { CoordinateWiseMedian } from './coordinate-wise-median.js';
import { TrimmedMeanLogits } from './trimmed-mean-logits.js';

export * from './aggregation-strategy.js';
export * from './mean-logits.js';
export * from './mean-probabilities.js';
export * from './evidence-weighted-probabilities.js';
export * from './client-logits-validation.js';
export * from './data-size-weighted-logits.js';
export * from './confidence-weighted-probabilities.js';
export * from './entropy-reduction.js';
export * from './coordinate-wise-median.js';
export * from './trimmed-mean-logits.js';
export * from './parameter-averaging.js';
export * from './joint-item-patterns.js';

export const AGGREGATION_STRATEGIES = [
  'mean-logits',
  'mean-probabilities',
  'evidence-weighted',
  'data-size-weighted',
  'confidence-weighted',
  'entropy-reduction',
  'median',
  'trimmed-mean',
] as const;
export type AggregationStrategyName = (typeof AGGREGATION_STRATEGIES)[number];

/** Parameters of the rules that take one; each falls back to its rule's default. */
export interface AggregationParameters {
  /** entropy-reduction: the sharpening temperature (default 0.1). */
  temperature?: number;
  /** trimmed-mean: the share of clients dropped at each end (default 0.2). */
  trim?: number;
  /** evidence-weighted: the weight every client gets on every probe (default 0.1). */
  evidencePrior?: number;
}

/** Creates the named strategy with the given parameters, or its defaults. */
export function createAggregationStrategy(name: AggregationStrategyName, parameters: AggregationParameters = {}): AggregationStrategy {
  switch (name) {
    case 'mean-logits':
      return new MeanLogits();
    case 'mean-probabilities':
      return new MeanProbabilities();
    case 'evidence-weighted':
      return new EvidenceWeightedProbabilities(parameters.evidencePrior);
    case 'data-size-weighted':
      return new DataSizeWeightedLogits();
    case 'confidence-weighted':
      return new ConfidenceWeightedProbabilities();
    case 'entropy-reduction':
      return new EntropyReduction(parameters.temperature);
    case 'median':
      return new CoordinateWiseMedian();
    case 'trimmed-mean':
      return new TrimmedMeanLogits(parameters.trim);
  }
}
