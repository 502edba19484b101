import { describe, expect, it } from 'vitest';

import { EvidenceWeightedProbabilities, MeanLogits, MeanProbabilities } from '../src/index.js';

const shape = { probes: 1, candidates: 2 };
const client = (clientId: string, logits: number[], evidence = [0]) => ({
  clientId,
  logits: Float32Array.from(logits),
  probeEvidence: Float32Array.from(evidence),
  exampleCount: 10,
});

describe('MeanLogits', () => {
  it('averages element-wise', () => {
    const teacher = new MeanLogits().aggregate([client('a', [1, 3]), client('b', [3, -1])], shape);
    expect(Array.from(teacher)).toEqual([2, 1]);
  });

  it('rejects logits of the wrong size', () => {
    expect(() => new MeanLogits().aggregate([client('a', [1, 2, 3])], shape)).toThrow('Logits of client a have 3 values; expected 2.');
  });
});

describe('MeanProbabilities', () => {
  it('mixes the clients softmax distributions', () => {
    // softmax([0, 0]) = [0.5, 0.5]; softmax([ln 3, 0]) = [0.75, 0.25]; mixture = [0.625, 0.375].
    const teacher = new MeanProbabilities().aggregate([client('a', [0, 0]), client('b', [Math.log(3), 0])], shape);
    expect(teacher[0]).toBeCloseTo(Math.log(0.625), 6);
    expect(teacher[1]).toBeCloseTo(Math.log(0.375), 6);
  });

  it('stays finite when a candidate has no mass', () => {
    const teacher = new MeanProbabilities().aggregate([client('a', [0, -1e4])], shape);
    expect(Number.isFinite(teacher[1])).toBe(true);
  });
});

describe('EvidenceWeightedProbabilities', () => {
  it('weights each client by its evidence for the probe', () => {
    // Weights 9.1 and 0.1: (9.1 · [0.75, 0.25] + 0.1 · [0.5, 0.5]) / 9.2.
    const teacher = new EvidenceWeightedProbabilities().aggregate(
      [client('informed', [Math.log(3), 0], [9]), client('uninformed', [0, 0], [0])],
      shape,
    );
    const first = (9.1 * 0.75 + 0.1 * 0.5) / 9.2;
    expect(teacher[0]).toBeCloseTo(Math.log(first), 6);
    expect(teacher[1]).toBeCloseTo(Math.log(1 - first), 6);
  });

  it('falls back to the plain mixture without evidence', () => {
    const inputs = [client('a', [0, 0]), client('b', [Math.log(3), 0])];
    const weighted = new EvidenceWeightedProbabilities().aggregate(inputs, shape);
    const plain = new MeanProbabilities().aggregate(inputs, shape);
    expect(weighted[0]).toBeCloseTo(plain[0], 6);
    expect(weighted[1]).toBeCloseTo(plain[1], 6);
  });

  it('takes its prior as a parameter: one informed client against many uninformed ones', () => {
    // Evidence 1 against 9 clients with none, as in cross-device rounds: with prior 0.001 the
    // informed client weighs 1.001 against 0.009, with the default prior 1.1 against 0.9.
    const inputs = [client('informed', [Math.log(3), 0], [1]), ...Array.from({ length: 9 }, (_, k) => client(`uninformed-${k}`, [0, 0], [0]))];
    const small = new EvidenceWeightedProbabilities(0.001).aggregate(inputs, shape);
    const first = (1.001 * 0.75 + 0.009 * 0.5) / 1.01;
    expect(small[0]).toBeCloseTo(Math.log(first), 6);
    expect(new EvidenceWeightedProbabilities().aggregate(inputs, shape)[0]).toBeCloseTo(Math.log((1.1 * 0.75 + 0.9 * 0.5) / 2), 6);
    expect(() => new EvidenceWeightedProbabilities(0)).toThrow('Invalid evidence prior 0');
  });

  it('weights probes independently', () => {
    const teacher = new EvidenceWeightedProbabilities().aggregate(
      [client('a', [10, 0, 0, 0], [100, 0]), client('b', [0, 0, 0, 10], [0, 100])],
      { probes: 2, candidates: 2 },
    );
    expect(teacher[0]).toBeGreaterThan(teacher[1]);
    expect(teacher[3]).toBeGreaterThan(teacher[2]);
  });
});
