// Evaluation of a scorer on leave-one-out splits, under both protocols: full ranking against
// every item the user has not interacted with, and the sampled protocol with 99 negatives.
import { NO_ITEM, type UserSplit } from '../data/leave-one-out.js';
import { sampleNegatives } from './negative-sampling.js';
import { type MetricSums, addRank, emptyMetricSums, fullRankingRank, sampledRank } from './ranking-metrics.js';

export type EvaluationPurpose = 'validation' | 'test';

export interface EvaluationSums {
  full: MetricSums;
  sampled: MetricSums;
}

/** Scores every item for each context: returns [contexts × itemCount] scores, row-major. */
export type BatchScorer = (contexts: Int32Array[]) => Float32Array;

export interface EvaluationCase {
  userId: string;
  /** What the scorer reads: the training items, plus the validation item when testing. */
  context: Int32Array;
  target: number;
  /** Items the user interacted with before the target, ranked out in full ranking. */
  known: Set<number>;
  /** Every item the user interacted with, none of which may be a sampled negative. */
  interacted: Set<number>;
}

/** The cases of the users that have a held-out item for this purpose. */
export function evaluationCases(splits: readonly UserSplit[], purpose: EvaluationPurpose): EvaluationCase[] {
  const cases: EvaluationCase[] = [];
  for (const split of splits) {
    const target = purpose === 'test' ? split.test : split.validation;
    if (target === NO_ITEM) continue;

    const context = purpose === 'test' ? appendItem(split.train, split.validation) : split.train;
    const interacted = new Set<number>(split.train);
    interacted.add(split.validation);
    interacted.add(split.test);
    cases.push({ userId: split.userId, context, target, known: new Set(context), interacted });
  }
  return cases;
}

export function emptyEvaluationSums(): EvaluationSums {
  return { full: emptyMetricSums(), sampled: emptyMetricSums() };
}

/** Ranks each user's held-out item under both protocols and returns the metric sums. */
export function evaluateScorer(
  splits: readonly UserSplit[],
  itemCount: number,
  scorer: BatchScorer,
  options: { purpose: EvaluationPurpose; seed: number; batchSize?: number },
): EvaluationSums {
  const cases = evaluationCases(splits, options.purpose);
  const batchSize = options.batchSize ?? 256;
  const sums = emptyEvaluationSums();

  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    const scores = scorer(batch.map((entry) => entry.context));
    if (scores.length !== batch.length * itemCount) {
      throw new Error(
        `The scorer returned ${scores.length} scores for ${batch.length} contexts; ` +
          `expected ${batch.length * itemCount} (one per item).`,
      );
    }

    batch.forEach((entry, row) => {
      const userScores = scores.subarray(row * itemCount, (row + 1) * itemCount);
      addRank(sums.full, fullRankingRank(userScores, entry.target, entry.known));
      const negatives = sampleNegatives(itemCount, entry.interacted, options.seed, entry.userId, options.purpose);
      addRank(sums.sampled, sampledRank(userScores, entry.target, negatives));
    });
  }
  return sums;
}

function appendItem(items: Int32Array, item: number): Int32Array {
  const extended = new Int32Array(items.length + 1);
  extended.set(items, 0);
  extended[items.length] = item;
  return extended;
}
