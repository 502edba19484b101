import { describe, expect, it } from 'vitest';

import {
  AGGREGATION_STRATEGIES,
  type AggregationStrategy,
  ConfidenceWeightedProbabilities,
  CoordinateWiseMedian,
  createAggregationStrategy,
  DataSizeWeightedLogits,
  EntropyReduction,
  TrimmedMeanLogits,
} from '../src/index.js';

const oneProbe = { probes: 1, candidates: 2 };
const client = (clientId: string, logits: number[], exampleCount = 10) => ({
  clientId,
  logits: Float32Array.from(logits),
  probeEvidence: new Float32Array(1),
  exampleCount,
});

const strategies: [string, () => AggregationStrategy][] = [
  ['DataSizeWeightedLogits', () => new DataSizeWeightedLogits()],
  ['ConfidenceWeightedProbabilities', () => new ConfidenceWeightedProbabilities()],
  ['EntropyReduction', () => new EntropyReduction()],
  ['CoordinateWiseMedian', () => new CoordinateWiseMedian()],
  ['TrimmedMeanLogits', () => new TrimmedMeanLogits()],
];

describe.each(strategies)('%s input checks', (_, create) => {
  it('rejects logits of the wrong size', () => {
    expect(() => create().aggregate([client('ok', [1, 2]), client('short', [1, 2, 3])], oneProbe)).toThrow(
      /client short: got 3 values, expected 2 \(1 probes × 2 candidates\)/,
    );
  });

  it('rejects NaN logits', () => {
    expect(() => create().aggregate([client('ok', [1, 2]), client('broken', [Number.NaN, 0])], oneProbe)).toThrow(
      /client broken: value NaN at index 0 is not finite/,
    );
  });

  it('rejects infinite logits', () => {
    expect(() => create().aggregate([client('broken', [0, Number.POSITIVE_INFINITY])], oneProbe)).toThrow(
      /client broken: value Infinity at index 1 is not finite/,
    );
  });

  it('rejects an empty input list', () => {
    expect(() => create().aggregate([], oneProbe)).toThrow(/at least one client/);
  });

  it('stays finite for vanishing probabilities', () => {
    const teacher = create().aggregate([client('a', [0, -1e4]), client('b', [50, -50])], oneProbe);
    expect(Number.isFinite(teacher[0])).toBe(true);
    expect(Number.isFinite(teacher[1])).toBe(true);
  });
});

describe('createAggregationStrategy', () => {
  it('creates every listed strategy', () => {
    for (const name of AGGREGATION_STRATEGIES) {
      expect(createAggregationStrategy(name).name).toBe(name);
    }
  });
});

describe('DataSizeWeightedLogits', () => {
  it('weights logits by example count', () => {
    // Weights 30 and 10: (30 · [1, 3] + 10 · [3, -1]) / 40 = [60, 80] / 40 = [1.5, 2].
    const teacher = new DataSizeWeightedLogits().aggregate([client('a', [1, 3], 30), client('b', [3, -1], 10)], oneProbe);
    expect(Array.from(teacher)).toEqual([1.5, 2]);
  });

  it('clamps negative counts to zero', () => {
    // Client a gets weight max(0, -5) = 0, so the teacher is client b's logits.
    const teacher = new DataSizeWeightedLogits().aggregate([client('a', [1, 3], -5), client('b', [3, -1], 10)], oneProbe);
    expect(Array.from(teacher)).toEqual([3, -1]);
  });

  it('uses equal weights without data', () => {
    // Both counts are 0, so the teacher is the plain mean ([1, 3] + [3, -1]) / 2 = [2, 1].
    const teacher = new DataSizeWeightedLogits().aggregate([client('a', [1, 3], 0), client('b', [3, -1], 0)], oneProbe);
    expect(Array.from(teacher)).toEqual([2, 1]);
  });

  it('rejects a non-finite example count', () => {
    expect(() => new DataSizeWeightedLogits().aggregate([client('a', [1, 3], Number.NaN)], oneProbe)).toThrow(
      /Invalid exampleCount from client a: NaN/,
    );
  });
});

describe('ConfidenceWeightedProbabilities', () => {
  it('favours the confident client', () => {
    // Client a: softmax([0, -1e4]) = [1, 0], entropy 0, weight 1 + 0.01 = 1.01.
    // Client b: softmax([0, 0]) = [0.5, 0.5], entropy log 2, weight 0 + 0.01 = 0.01.
    // Mixture: (1.01 · [1, 0] + 0.01 · [0.5, 0.5]) / 1.02 = [1.015, 0.005] / 1.02.
    const teacher = new ConfidenceWeightedProbabilities().aggregate([client('a', [0, -1e4]), client('b', [0, 0])], oneProbe);
    expect(teacher[0]).toBeCloseTo(Math.log(1.015 / 1.02), 6);
    expect(teacher[1]).toBeCloseTo(Math.log(0.005 / 1.02), 5);
  });

  it('weights by normalized entropy', () => {
    // Client b: softmax([ln 3, 0]) = [0.75, 0.25], entropy 0.5623351 nats, 0.5623351 / ln 2 = 0.8112781,
    // weight 1 − 0.8112781 + 0.01 = 0.1987219. Client a is uniform, weight 0.01.
    // First entry: (0.01 · 0.5 + 0.1987219 · 0.75) / 0.2087219 = 0.7380223.
    const teacher = new ConfidenceWeightedProbabilities().aggregate(
      [client('a', [0, 0]), client('b', [Math.log(3), 0])],
      oneProbe,
    );
    expect(teacher[0]).toBeCloseTo(Math.log(0.7380223), 5);
    expect(teacher[1]).toBeCloseTo(Math.log(1 - 0.7380223), 5);
  });

  it('weights probes independently', () => {
    // Probe 0: a is one-hot on candidate 0, b is uniform. Probe 1: a is uniform, b is one-hot on candidate 1.
    const teacher = new ConfidenceWeightedProbabilities().aggregate(
      [client('a', [0, -1e4, 0, 0]), client('b', [0, 0, -1e4, 0])],
      { probes: 2, candidates: 2 },
    );
    expect(teacher[0]).toBeCloseTo(Math.log(1.015 / 1.02), 6);
    expect(teacher[3]).toBeCloseTo(Math.log(1.015 / 1.02), 6);
  });

  it('handles a single candidate', () => {
    // With one candidate every distribution is [1], so the teacher logit is log 1 = 0.
    const teacher = new ConfidenceWeightedProbabilities().aggregate(
      [client('a', [4]), client('b', [-2])],
      { probes: 1, candidates: 1 },
    );
    expect(Array.from(teacher)).toEqual([0]);
  });
});

describe('EntropyReduction', () => {
  it('divides the mean probabilities by temperature', () => {
    // Mean of [0.5, 0.5] and [0.75, 0.25] is [0.625, 0.375]. With T = 0.5 the teacher is [1.25, 0.75].
    const teacher = new EntropyReduction(0.5).aggregate([client('a', [0, 0]), client('b', [Math.log(3), 0])], oneProbe);
    expect(teacher[0]).toBeCloseTo(1.25, 6);
    expect(teacher[1]).toBeCloseTo(0.75, 6);
  });

  it('sharpens with the default temperature', () => {
    // With T = 0.1 the logit gap is (0.625 − 0.375) / 0.1 = 2.5.
    const teacher = new EntropyReduction().aggregate([client('a', [0, 0]), client('b', [Math.log(3), 0])], oneProbe);
    expect(teacher[0] - teacher[1]).toBeCloseTo(2.5, 5);
  });

  it('stays finite at zero probability', () => {
    // softmax([0, −1e4]) is [1, 0], so the teacher is [10, 0] with T = 0.1.
    const teacher = new EntropyReduction().aggregate([client('a', [0, -1e4])], oneProbe);
    expect(teacher[0]).toBeCloseTo(10, 5);
    expect(teacher[1]).toBeCloseTo(0, 6);
  });

  it('stays finite at tiny temperature', () => {
    const teacher = new EntropyReduction(1e-40).aggregate([client('a', [0, -1e4])], oneProbe);
    expect(Number.isFinite(teacher[1])).toBe(true);
  });

  it('rejects invalid temperatures', () => {
    for (const temperature of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new EntropyReduction(temperature)).toThrow(`Invalid temperature ${temperature}`);
    }
  });
});

describe('CoordinateWiseMedian', () => {
  it('takes the middle of three', () => {
    // Candidate 0: median of 1, 2, 10 is 2. Candidate 1: median of 5, -1, 0 is 0.
    const teacher = new CoordinateWiseMedian().aggregate(
      [client('a', [1, 5]), client('b', [2, -1]), client('c', [10, 0])],
      oneProbe,
    );
    expect(Array.from(teacher)).toEqual([2, 0]);
  });

  it('averages the middle pair', () => {
    // Candidate 0: sorted 1, 2, 3, 100 gives (2 + 3) / 2 = 2.5. Candidate 1: sorted -4, 0, 0, 6 gives 0.
    const teacher = new CoordinateWiseMedian().aggregate(
      [client('a', [1, 0]), client('b', [100, -4]), client('c', [3, 6]), client('d', [2, 0])],
      oneProbe,
    );
    expect(Array.from(teacher)).toEqual([2.5, 0]);
  });

  it('resists one huge client', () => {
    // Honest clients are near [1, 2]. Candidate 0: sorted 0.9, 1, 1.1, 1.2, 1e6 gives 1.1.
    // Candidate 1: sorted -1e6, 1.9, 2, 2.1, 2.2 gives 2.
    const teacher = new CoordinateWiseMedian().aggregate(
      [client('a', [1, 2]), client('b', [1.1, 2.1]), client('c', [0.9, 1.9]), client('d', [1.2, 2.2]), client('attacker', [1e6, -1e6])],
      oneProbe,
    );
    expect(teacher[0]).toBeCloseTo(1.1, 5);
    expect(teacher[1]).toBeCloseTo(2, 5);
  });
});

describe('TrimmedMeanLogits', () => {
  it('drops one value per end', () => {
    // Trim 0.2 with 5 clients drops ⌊1⌋ = 1 per end. Candidate 0: 1, 2, 3, 4, 100 keeps 2, 3, 4, mean 3.
    // Candidate 1: -50, 0, 1, 2, 6 keeps 0, 1, 2, mean 1.
    const teacher = new TrimmedMeanLogits().aggregate(
      [client('a', [1, 6]), client('b', [2, 0]), client('c', [3, 1]), client('d', [4, 2]), client('e', [100, -50])],
      oneProbe,
    );
    expect(Array.from(teacher)).toEqual([3, 1]);
  });

  it('honours a custom trim', () => {
    // Trim 0.25 with 4 clients drops 1 per end. Candidate 0: 0, 1, 3, 10 keeps 1 and 3, mean 2.
    // Candidate 1: -8, 2, 4, 5 keeps 2 and 4, mean 3.
    const teacher = new TrimmedMeanLogits(0.25).aggregate(
      [client('a', [0, 5]), client('b', [1, 2]), client('c', [3, 4]), client('d', [10, -8])],
      oneProbe,
    );
    expect(Array.from(teacher)).toEqual([2, 3]);
  });

  it('equals the mean for few clients', () => {
    // Trim 0.2 with 3 clients drops ⌊0.6⌋ = 0, so the teacher is ([1, 3] + [3, -1] + [5, 1]) / 3 = [3, 1].
    const teacher = new TrimmedMeanLogits().aggregate(
      [client('a', [1, 3]), client('b', [3, -1]), client('c', [5, 1])],
      oneProbe,
    );
    expect(Array.from(teacher)).toEqual([3, 1]);
  });

  it('resists one huge client', () => {
    // Candidate 0: 0.9, 1, 1.1, 1.2, 1e6 keeps 1, 1.1, 1.2, mean 1.1.
    // Candidate 1: -1e6, 1.9, 2, 2.1, 2.2 keeps 1.9, 2, 2.1, mean 2.
    const teacher = new TrimmedMeanLogits().aggregate(
      [client('a', [1, 2]), client('b', [1.1, 2.1]), client('c', [0.9, 1.9]), client('d', [1.2, 2.2]), client('attacker', [1e6, -1e6])],
      oneProbe,
    );
    expect(teacher[0]).toBeCloseTo(1.1, 5);
    expect(teacher[1]).toBeCloseTo(2, 5);
  });

  it('rejects invalid trims', () => {
    for (const trim of [0.5, -0.1, 1, Number.NaN]) {
      expect(() => new TrimmedMeanLogits(trim)).toThrow(`Invalid trim ${trim}`);
    }
  });

  it('accepts zero trim', () => {
    const teacher = new TrimmedMeanLogits(0).aggregate([client('a', [1, 3]), client('b', [3, -1])], oneProbe);
    expect(Array.from(teacher)).toEqual([2, 1]);
  });
});
