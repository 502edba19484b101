// Top-K ranking metrics for leave-one-out evaluation, where each user has one held-out item.
//
// The rank of the held-out item is 0-based and counts every other candidate whose score is at
// least the held-out item's score. Ties therefore count against the model, so a model that gives
// every item the same score gets the worst rank, not an average one.

export const CUTOFFS = [10, 20] as const;
export type Cutoff = (typeof CUTOFFS)[number];

/** Sums over users of each metric, so that clients can report totals and the coordinator adds them. */
export interface MetricSums {
  users: number;
  hitRate: Record<Cutoff, number>;
  ndcg: Record<Cutoff, number>;
  reciprocalRank: number;
}

/** Per-user means of MetricSums. */
export interface MetricMeans {
  users: number;
  hitRate: Record<Cutoff, number>;
  ndcg: Record<Cutoff, number>;
  mrr: number;
}

export function emptyMetricSums(): MetricSums {
  return { users: 0, hitRate: { 10: 0, 20: 0 }, ndcg: { 10: 0, 20: 0 }, reciprocalRank: 0 };
}

/** HR@K: 1 when the held-out item is among the top K. */
export function hitRateAt(rank: number, cutoff: number): number {
  return rank < cutoff ? 1 : 0;
}

/** NDCG@K with one relevant item: 1 / log2(rank + 2) inside the top K, else 0. */
export function ndcgAt(rank: number, cutoff: number): number {
  return rank < cutoff ? 1 / Math.log2(rank + 2) : 0;
}

/** Reciprocal rank over the whole candidate list (no cutoff). */
export function reciprocalRank(rank: number): number {
  return 1 / (rank + 1);
}

/** Adds one user's result at `rank` to the sums. */
export function addRank(sums: MetricSums, rank: number): void {
  sums.users += 1;
  for (const cutoff of CUTOFFS) {
    sums.hitRate[cutoff] += hitRateAt(rank, cutoff);
    sums.ndcg[cutoff] += ndcgAt(rank, cutoff);
  }
  sums.reciprocalRank += reciprocalRank(rank);
}

/** Adds `other` into `total` and returns `total`. */
export function mergeMetricSums(total: MetricSums, other: MetricSums): MetricSums {
  total.users += other.users;
  for (const cutoff of CUTOFFS) {
    total.hitRate[cutoff] += other.hitRate[cutoff];
    total.ndcg[cutoff] += other.ndcg[cutoff];
  }
  total.reciprocalRank += other.reciprocalRank;
  return total;
}

export function metricMeans(sums: MetricSums): MetricMeans {
  const divisor = Math.max(sums.users, 1);
  return {
    users: sums.users,
    hitRate: { 10: sums.hitRate[10] / divisor, 20: sums.hitRate[20] / divisor },
    ndcg: { 10: sums.ndcg[10] / divisor, 20: sums.ndcg[20] / divisor },
    mrr: sums.reciprocalRank / divisor,
  };
}

/**
 * Full-ranking rank of `target`: the number of items, other than the target and the excluded
 * ones (the user's known interactions), that score at least as high as the target.
 */
export function fullRankingRank(
  scores: ArrayLike<number>,
  target: number,
  excluded: ReadonlySet<number> | ArrayLike<number>,
): number {
  const targetScore = scores[target];
  let rank = 0;
  for (let item = 0; item < scores.length; item++) {
    if (item !== target && scores[item] >= targetScore) rank++;
  }

  // Subtract the excluded items that were counted, rather than testing membership in the loop.
  const excludedItems = isSet(excluded) ? excluded : new Set(Array.from(excluded));
  for (const item of excludedItems) {
    if (item !== target && item >= 0 && item < scores.length && scores[item] >= targetScore) rank--;
  }
  return rank;
}

/** Sampled-protocol rank of `target` among the given negative items. */
export function sampledRank(
  scores: ArrayLike<number>,
  target: number,
  negatives: ArrayLike<number>,
): number {
  const targetScore = scores[target];
  let rank = 0;
  for (let k = 0; k < negatives.length; k++) {
    if (scores[negatives[k]] >= targetScore) rank++;
  }
  return rank;
}

function isSet(value: ReadonlySet<number> | ArrayLike<number>): value is ReadonlySet<number> {
  return value instanceof Set;
}
