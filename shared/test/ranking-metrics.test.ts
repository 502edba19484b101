import { describe, expect, it } from 'vitest';

import {
  NO_ITEM,
  addRank,
  emptyMetricSums,
  evaluateScorer,
  fullRankingRank,
  hitRateAt,
  metricMeans,
  ndcgAt,
  reciprocalRank,
  sampleNegatives,
  sampledRank,
} from '../src/index.js';

describe('ranking metrics', () => {
  it('scores rank 0 as a perfect hit', () => {
    expect(hitRateAt(0, 10)).toBe(1);
    expect(ndcgAt(0, 10)).toBe(1);
    expect(reciprocalRank(0)).toBe(1);
  });

  it('scores rank 2 by hand', () => {
    expect(hitRateAt(2, 10)).toBe(1);
    expect(ndcgAt(2, 10)).toBeCloseTo(0.5, 12); // 1 / log2(4)
    expect(reciprocalRank(2)).toBeCloseTo(1 / 3, 12);
  });

  it('scores rank 10 outside the top 10 and inside the top 20', () => {
    expect(hitRateAt(10, 10)).toBe(0);
    expect(ndcgAt(10, 10)).toBe(0);
    expect(hitRateAt(10, 20)).toBe(1);
    expect(ndcgAt(10, 20)).toBeCloseTo(1 / Math.log2(12), 12);
  });

  it('averages sums over users', () => {
    const sums = emptyMetricSums();
    addRank(sums, 0);
    addRank(sums, 2);
    addRank(sums, 30);
    const means = metricMeans(sums);
    expect(means.users).toBe(3);
    expect(means.hitRate[10]).toBeCloseTo(2 / 3, 12);
    expect(means.ndcg[10]).toBeCloseTo((1 + 0.5) / 3, 12);
    expect(means.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 31) / 3, 12);
  });
});

describe('fullRankingRank', () => {
  it('skips the known items', () => {
    // Item 0 scores highest but is known; only item 3 outranks the target.
    expect(fullRankingRank([0.9, 0.1, 0.5, 0.7, 0.3], 2, new Set([0]))).toBe(1);
  });

  it('counts ties against the target', () => {
    expect(fullRankingRank([1, 1, 1], 0, new Set())).toBe(2);
  });

  it('accepts the known items as an array', () => {
    expect(fullRankingRank([0.9, 0.1, 0.5, 0.7, 0.3], 2, [0, 3])).toBe(0);
  });
});

describe('sampledRank', () => {
  it('ranks against the negatives only', () => {
    expect(sampledRank([0.9, 0.1, 0.5, 0.7, 0.3], 2, [1, 4])).toBe(0);
    expect(sampledRank([0.9, 0.1, 0.5, 0.7, 0.3], 2, [0, 1, 3])).toBe(2);
  });
});

describe('sampleNegatives', () => {
  const interacted = new Set([0, 1, 2, 3]);

  it('draws distinct items the user never interacted with', () => {
    const negatives = sampleNegatives(200, interacted, 1, 'u1', 'test');
    expect(negatives.length).toBe(99);
    expect(new Set(negatives).size).toBe(99);
    for (const item of negatives) {
      expect(interacted.has(item)).toBe(false);
      expect(item).toBeGreaterThanOrEqual(0);
      expect(item).toBeLessThan(200);
    }
  });

  it('repeats for the same seed and user', () => {
    expect(sampleNegatives(200, interacted, 1, 'u1', 'test')).toEqual(sampleNegatives(200, interacted, 1, 'u1', 'test'));
  });

  it('differs across users', () => {
    expect(sampleNegatives(200, interacted, 1, 'u1', 'test')).not.toEqual(sampleNegatives(200, interacted, 1, 'u2', 'test'));
  });

  it('rejects a catalog too small for 99 negatives', () => {
    expect(() => sampleNegatives(100, interacted, 1, 'u1', 'test')).toThrow('leaves fewer than the 99 negatives');
  });
});

describe('evaluateScorer', () => {
  const splits = [
    { userId: 'hit', train: Int32Array.of(0, 1), validation: 2, test: 3 },
    { userId: 'miss', train: Int32Array.of(4), validation: 5, test: 6 },
    { userId: 'train-only', train: Int32Array.of(7, 8), validation: NO_ITEM, test: NO_ITEM },
  ];

  it('ranks each test item under both protocols', () => {
    // Every item scores its index, so item 149 ranks first. The target 3 of "hit" is raised
    // above everything, and the target 6 of "miss" keeps score 6 (near the bottom).
    const scorer = (contexts: Int32Array[]) => {
      const scores = new Float32Array(contexts.length * 150);
      contexts.forEach((context, row) => {
        for (let item = 0; item < 150; item++) scores[row * 150 + item] = item;
        if (context[0] === 0) scores[row * 150 + 3] = 1000;
      });
      return scores;
    };
    const sums = evaluateScorer(splits, 150, scorer, { purpose: 'test', seed: 1 });

    expect(sums.full.users).toBe(2);
    expect(sums.full.hitRate[10]).toBe(1);
    expect(sums.full.ndcg[10]).toBe(1);
    // "miss": items 7..149 outrank item 6, and none of them is known: rank 143.
    expect(sums.full.reciprocalRank).toBeCloseTo(1 + 1 / 144, 12);
    expect(sums.sampled.hitRate[10]).toBe(1);
  });

  it('uses the validation item when asked', () => {
    const contexts: Int32Array[] = [];
    const scorer = (batch: Int32Array[]) => {
      contexts.push(...batch);
      return new Float32Array(batch.length * 150);
    };
    evaluateScorer(splits, 150, scorer, { purpose: 'validation', seed: 1 });
    expect(contexts.map((context) => Array.from(context))).toEqual([[0, 1], [4]]);
  });

  it('adds the validation item to the test context', () => {
    const contexts: Int32Array[] = [];
    const scorer = (batch: Int32Array[]) => {
      contexts.push(...batch);
      return new Float32Array(batch.length * 150);
    };
    evaluateScorer(splits, 150, scorer, { purpose: 'test', seed: 1 });
    expect(contexts.map((context) => Array.from(context))).toEqual([[0, 1, 2], [4, 5]]);
  });
});
