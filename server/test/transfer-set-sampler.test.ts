import { describe, expect, it } from 'vitest';

import { TransferSetSampler } from '../src/index.js';

const config = { itemCount: 1000, probesPerRound: 20, candidatesPerRound: 100, uniformShare: 0.25, popularityExponent: 1, seed: 5 };

describe('TransferSetSampler', () => {
  it('measures the whole catalog first, within the logit budget', () => {
    const first = new TransferSetSampler(config).sample(1);
    expect(first.candidates.length).toBe(1000);
    expect(first.probeOffsets.length - 1).toBe(2); // floor(20 · 100 / 1000)
  });

  it('repeats for the same seed and round', () => {
    expect(new TransferSetSampler(config).sample(1)).toEqual(new TransferSetSampler(config).sample(1));
  });

  it('draws popular items once it has evidence', () => {
    const sampler = new TransferSetSampler(config);
    const census = sampler.sample(1);
    // Items 0..49 are popular (1000 interactions), the rest were seen once.
    sampler.observeEvidence(census, Float64Array.from(census.candidates, (item) => (item < 50 ? 1000 : 1)));

    const next = sampler.sample(2);
    expect(next.candidates.length).toBe(100);
    expect(new Set(next.candidates).size).toBe(100);
    const popular = Array.from(next.candidates).filter((item) => item < 50).length;
    // 75 weighted draws hold almost all 50 popular items; uniform draws would hold about 5.
    expect(popular).toBeGreaterThanOrEqual(45);
    const probes = Array.from(next.probeItems).filter((item) => item < 50).length;
    expect(probes).toBeGreaterThanOrEqual(12);
  });

  it('keeps a uniform share for rare items', () => {
    const sampler = new TransferSetSampler(config);
    const census = sampler.sample(1);
    sampler.observeEvidence(census, Float64Array.from(census.candidates, (item) => (item < 50 ? 1000 : 0)));
    const rare = Array.from(sampler.sample(2).candidates).filter((item) => item >= 50).length;
    expect(rare).toBeGreaterThanOrEqual(25);
  });
});
