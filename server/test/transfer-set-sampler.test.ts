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

  it('mixes in public-user probes after the first round', () => {
    const publicProbes = Array.from({ length: 30 }, (_, user) => Int32Array.of(user, user + 100, user + 200));
    const sampler = new TransferSetSampler({ ...config, publicProbes, publicProbeShare: 0.5 });
    const census = sampler.sample(1);
    expect(Array.from({ length: census.probeOffsets.length - 1 }, (_, q) => census.probeOffsets[q + 1] - census.probeOffsets[q])).toEqual([1, 1]);
    sampler.observeEvidence(census, new Float64Array(census.candidates.length).fill(1));

    const next = sampler.sample(2);
    const lengths = Array.from({ length: next.probeOffsets.length - 1 }, (_, q) => next.probeOffsets[q + 1] - next.probeOffsets[q]);
    expect(lengths).toHaveLength(20);
    expect(lengths.filter((length) => length === 3)).toHaveLength(10);
    const contexts = new Set(lengths.flatMap((length, q) => (length === 3 ? [next.probeItems[next.probeOffsets[q]]] : [])));
    expect(contexts.size).toBe(10);
  });

  it('sends fewer probes when the byte budget says so', () => {
    // 4 bytes per logit: 100 candidates × 4 bytes × 7 probes fits in 3,000 bytes, 8 probes do not.
    const sampler = new TransferSetSampler({ ...config, maxProbes: (candidates) => Math.floor(3_000 / (candidates * 4)) });
    const census = sampler.sample(1);
    expect(census.probeOffsets.length - 1).toBe(1);
    sampler.observeEvidence(census, new Float64Array(census.candidates.length).fill(1));
    expect(sampler.sample(2).probeOffsets.length - 1).toBe(7);
  });
});
