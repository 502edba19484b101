import { describe, expect, it } from 'vitest';

import { createRandom, randomDirichlet, sampleWithoutReplacement, shuffleInPlace } from '../src/index.js';

describe('seeded randomness', () => {
  it('repeats a stream for the same seed and labels', () => {
    const first = createRandom(1, 'a');
    const second = createRandom(1, 'a');
    const other = createRandom(1, 'b');
    const draws = [first(), first(), first()];
    expect([second(), second(), second()]).toEqual(draws);
    expect(other()).not.toBe(draws[0]);
  });

  it('samples distinct values in range', () => {
    const sample = sampleWithoutReplacement(50, 50, createRandom(3));
    expect([...sample].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index));
  });

  it('rejects a sample larger than the population', () => {
    expect(() => sampleWithoutReplacement(5, 6, createRandom(3))).toThrow('Cannot sample 6 distinct values from a population of 5');
  });

  it('shuffles into a permutation', () => {
    const values = shuffleInPlace([1, 2, 3, 4, 5, 6], createRandom(9));
    expect([...values].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('draws Dirichlet vectors that sum to one', () => {
    const random = createRandom(4);
    for (const concentration of [0.1, 0.5, 2]) {
      const shares = randomDirichlet(random, concentration, 8);
      expect(shares.reduce((total, share) => total + share, 0)).toBeCloseTo(1, 12);
      expect(shares.every((share) => share >= 0)).toBe(true);
    }
  });
});
