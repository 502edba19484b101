import { describe, expect, it } from 'vitest';

import {
  PatternProjector,
  createBinaryMatrix,
  createDenseMatrix,
  createRandom,
  factorizeJointPatterns,
  factorizeNonNegative,
  fullRankingRank,
  measureReconstructionError,
  solveNonNegativeLeastSquares,
  stackClientPatterns,
  type DenseMatrix,
  type Random,
} from '../src/index.js';

/** Builds a dense rows × columns matrix W* H* from uniform non-negative factors of the given rank. */
function plantedLowRank(rows: number, columns: number, rank: number, random: Random): DenseMatrix {
  const w = Array.from({ length: rows * rank }, () => random());
  const h = Array.from({ length: rank * columns }, () => random());
  return multiply(w, h, rows, rank, columns);
}

function multiply(w: ArrayLike<number>, h: ArrayLike<number>, rows: number, rank: number, columns: number): DenseMatrix {
  const values = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      let total = 0;
      for (let a = 0; a < rank; a++) total += w[row * rank + a] * h[a * columns + column];
      values[row * columns + column] = total;
    }
  }
  return createDenseMatrix(values, rows, columns);
}

/** Draws item lists in which each item appears with the given probability. */
function randomItemLists(rows: number, items: number, density: number, random: Random): number[][] {
  return Array.from({ length: rows }, () => {
    const list: number[] = [];
    for (let item = 0; item < items; item++) if (random() < density) list.push(item);
    return list;
  });
}

function denseFromItemLists(lists: number[][], items: number): DenseMatrix {
  const values = new Float32Array(lists.length * items);
  lists.forEach((list, row) => list.forEach((item) => (values[row * items + item] = 1)));
  return createDenseMatrix(values, lists.length, items);
}

function frobeniusNorm(matrix: DenseMatrix): number {
  return Math.sqrt(matrix.values.reduce((total, value) => total + value * value, 0));
}

function minimum(values: Float32Array): number {
  return values.reduce((smallest, value) => Math.min(smallest, value), Number.POSITIVE_INFINITY);
}

describe('non-negative matrix factorization', () => {
  it('never increases error, keeps factors non-negative', () => {
    const random = createRandom(11, 'monotone');
    const matrix = createBinaryMatrix(randomItemLists(60, 80, 0.1, random), 80);
    const result = factorizeNonNegative(matrix, { rank: 6, seed: 1, maxIterations: 150, tolerance: 0 });

    expect(result.iterations).toBe(150);
    expect(result.errorHistory.length).toBe(151);
    for (let t = 1; t < result.errorHistory.length; t++) {
      expect(result.errorHistory[t]).toBeLessThanOrEqual(result.errorHistory[t - 1] * (1 + 1e-12));
    }
    expect(result.errorHistory[150]).toBeLessThan(0.9 * result.errorHistory[0]);
    expect(minimum(result.w.values)).toBeGreaterThanOrEqual(0);
    expect(minimum(result.h.values)).toBeGreaterThanOrEqual(0);
  });

  it('reports the error of the returned factors', () => {
    const random = createRandom(12, 'reported-error');
    const matrix = createBinaryMatrix(randomItemLists(30, 40, 0.2, random), 40);
    const result = factorizeNonNegative(matrix, { rank: 4, seed: 2, maxIterations: 50 });

    // Recompute ||X − W H|| entry by entry from the returned Float32 factors.
    let squaredError = 0;
    for (let row = 0; row < 30; row++) {
      const start = matrix.rowPointers[row];
      const ones = new Set(matrix.columnIndices.subarray(start, matrix.rowPointers[row + 1]));
      for (let item = 0; item < 40; item++) {
        let product = 0;
        for (let a = 0; a < 4; a++) product += result.w.values[row * 4 + a] * result.h.values[a * 40 + item];
        squaredError += ((ones.has(item) ? 1 : 0) - product) ** 2;
      }
    }
    expect(result.reconstructionError).toBeCloseTo(Math.sqrt(squaredError), 6);
    expect(measureReconstructionError(matrix, result.w, result.h)).toBeCloseTo(Math.sqrt(squaredError), 6);
    expect(result.relativeError).toBeCloseTo(result.reconstructionError / Math.sqrt(matrix.columnIndices.length), 12);
  });

  it('recovers an exactly low-rank matrix', () => {
    const matrix = plantedLowRank(40, 30, 3, createRandom(13, 'low-rank'));
    const result = factorizeNonNegative(matrix, { rank: 3, seed: 3, maxIterations: 1000, tolerance: 0 });

    expect(result.relativeError).toBeLessThan(0.01);
    expect(result.reconstructionError).toBeCloseTo(result.errorHistory[1000], 4);
    expect(result.w.rowCount).toBe(40);
    expect(result.w.columnCount).toBe(3);
    expect(result.h.rowCount).toBe(3);
    expect(result.h.columnCount).toBe(30);
  });

  it('gives the same factors on sparse and dense input', () => {
    const lists = randomItemLists(50, 70, 0.08, createRandom(14, 'sparse-dense'));
    const options = { rank: 5, seed: 4, maxIterations: 100, tolerance: 0 };
    const sparse = factorizeNonNegative(createBinaryMatrix(lists, 70), options);
    const dense = factorizeNonNegative(denseFromItemLists(lists, 70), options);

    expect(dense.iterations).toBe(sparse.iterations);
    expect(dense.reconstructionError).toBeCloseTo(sparse.reconstructionError, 8);
    for (let index = 0; index < sparse.w.values.length; index++) {
      expect(Math.abs(dense.w.values[index] - sparse.w.values[index])).toBeLessThan(1e-5);
    }
    for (let index = 0; index < sparse.h.values.length; index++) {
      expect(Math.abs(dense.h.values[index] - sparse.h.values[index])).toBeLessThan(1e-5);
    }
  });

  it('repeats a run for the same seed', () => {
    const matrix = createBinaryMatrix(randomItemLists(20, 25, 0.2, createRandom(15)), 25);
    const first = factorizeNonNegative(matrix, { rank: 3, seed: 'a', maxIterations: 20 });
    const second = factorizeNonNegative(matrix, { rank: 3, seed: 'a', maxIterations: 20 });
    const other = factorizeNonNegative(matrix, { rank: 3, seed: 'b', maxIterations: 20 });

    expect(second.w.values).toEqual(first.w.values);
    expect(second.h.values).toEqual(first.h.values);
    expect(other.w.values).not.toEqual(first.w.values);
  });

  it('stops early at the tolerance', () => {
    const matrix = plantedLowRank(20, 20, 2, createRandom(16));
    const result = factorizeNonNegative(matrix, { rank: 2, seed: 5, maxIterations: 5000, tolerance: 1e-3 });

    expect(result.converged).toBe(true);
    expect(result.iterations).toBeLessThan(5000);
    const last = result.errorHistory.length - 1;
    expect(result.errorHistory[last - 1] - result.errorHistory[last]).toBeLessThanOrEqual(1e-3 * result.errorHistory[last - 1]);
  });
});

describe('joint item patterns', () => {
  it('reconstructs both clients from global patterns', () => {
    // Both clients' users mix the same three item patterns, in different proportions and numbers.
    const random = createRandom(21, 'joint');
    const items = 40;
    const shared = Array.from({ length: 3 * items }, () => (random() < 0.4 ? random() : 0));
    const clientA = multiply(Array.from({ length: 60 * 3 }, () => random()), shared, 60, 3, items);
    const clientB = multiply(Array.from({ length: 15 * 3 }, () => 3 * random()), shared, 15, 3, items);

    const patternsA = factorizeNonNegative(clientA, { rank: 3, seed: 1, maxIterations: 2000, tolerance: 1e-7 }).h;
    const patternsB = factorizeNonNegative(clientB, { rank: 3, seed: 2, maxIterations: 2000, tolerance: 1e-7 }).h;
    const joint = factorizeJointPatterns([patternsA, patternsB], { rank: 3, seed: 3, maxIterations: 2000, tolerance: 1e-7 });

    expect(joint.patterns.rowCount).toBe(3);
    expect(joint.patterns.columnCount).toBe(items);
    expect(Array.from(joint.clientRowOffsets)).toEqual([0, 3, 6]);
    expect(joint.relativeError).toBeLessThan(0.05);

    const projector = new PatternProjector(joint.patterns);
    for (const client of [clientA, clientB]) {
      const weights = projector.projectContexts(client);
      const relativeError = measureReconstructionError(client, weights, joint.patterns) / frobeniusNorm(client);
      expect(relativeError).toBeLessThan(0.05);
    }

    // Two patterns cannot span three: the same check must fail for rank 2.
    const tooFew = factorizeJointPatterns([patternsA, patternsB], { rank: 2, seed: 3, maxIterations: 2000 });
    const weights = new PatternProjector(tooFew.patterns).projectContexts(clientA);
    expect(measureReconstructionError(clientA, weights, tooFew.patterns) / frobeniusNorm(clientA)).toBeGreaterThan(0.05);
  });

  it('normalizes rows and clients when stacking', () => {
    const first = createDenseMatrix(Float32Array.from([3, 4, 0, 0, 0, 0]), 2, 3);
    const second = createDenseMatrix(Float32Array.from([0, 0, 10]), 1, 3);

    expect(Array.from(stackClientPatterns([first, second], 'none').values)).toEqual([3, 4, 0, 0, 0, 0, 0, 0, 10]);

    const rows = stackClientPatterns([first, second], 'rows').values;
    expect(Array.from(rows)).toEqual([0.6000000238418579, 0.800000011920929, 0, 0, 0, 0, 0, 0, 1]);

    const clients = stackClientPatterns([first, second], 'clients').values;
    expect(clients[0]).toBeCloseTo(0.6 / Math.SQRT2, 6);
    expect(clients[1]).toBeCloseTo(0.8 / Math.SQRT2, 6);
    expect(clients[8]).toBeCloseTo(1, 6);
  });
});

describe('pattern projection', () => {
  it('recovers a known combination of patterns', () => {
    const random = createRandom(31, 'combination');
    const items = 30;
    const patterns = createDenseMatrix(Float32Array.from({ length: 4 * items }, () => random()), 4, items);
    const trueWeights = [0.5, 0, 1.2, 0.3];
    const context = multiply(trueWeights, patterns.values, 1, 4, items);

    for (const method of ['active-set', 'multiplicative'] as const) {
      const projector = new PatternProjector(patterns, { method, maxIterations: 5000, tolerance: 1e-12 });
      const { weights, scores } = projector.scoreContexts(context);
      const tolerance = method === 'active-set' ? 1e-4 : 2e-2;
      trueWeights.forEach((weight, a) => expect(Math.abs(weights.values[a] - weight)).toBeLessThan(tolerance));
      for (let item = 0; item < items; item++) {
        expect(Math.abs(scores.values[item] - context.values[item])).toBeLessThan(tolerance * 5);
      }
    }
  });

  it('meets the optimality conditions of NNLS', () => {
    // For random patterns and contexts outside their cone, the exact solution has w ≥ 0, a
    // gradient Q w − b ≥ 0, and a zero gradient wherever w > 0.
    const random = createRandom(32, 'nnls');
    const k = 8;
    const items = 50;
    const patterns = Float64Array.from({ length: k * items }, () => (random() < 0.5 ? random() : 0));
    const gram = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        for (let item = 0; item < items; item++) gram[a * k + b] += patterns[a * items + item] * patterns[b * items + item];
      }
    }

    let activeConstraints = 0;
    for (let trial = 0; trial < 20; trial++) {
      const context = Float64Array.from({ length: items }, () => (random() < 0.2 ? 1 : 0));
      const rhs = new Float64Array(k);
      for (let a = 0; a < k; a++) for (let item = 0; item < items; item++) rhs[a] += patterns[a * items + item] * context[item];

      const weights = new Float64Array(k);
      solveNonNegativeLeastSquares(gram, rhs, k, weights);
      for (let a = 0; a < k; a++) {
        let gradient = -rhs[a];
        for (let b = 0; b < k; b++) gradient += gram[a * k + b] * weights[b];
        expect(weights[a]).toBeGreaterThanOrEqual(0);
        expect(gradient).toBeGreaterThan(-1e-8);
        if (weights[a] > 0) expect(Math.abs(gradient)).toBeLessThan(1e-8);
        else activeConstraints++;
      }
    }

    // The check is only meaningful when some weights were held at 0.
    expect(activeConstraints).toBeGreaterThan(10);
  });

  it('matches active-set scores with multiplicative updates', () => {
    const random = createRandom(33, 'methods');
    const items = 60;
    const patterns = createDenseMatrix(Float32Array.from({ length: 6 * items }, () => (random() < 0.4 ? random() : 0)), 6, items);
    const contexts = randomItemLists(30, items, 0.15, random);

    const exact = new PatternProjector(patterns).scoreContexts(contexts).scores;
    const approximate = new PatternProjector(patterns, { method: 'multiplicative', maxIterations: 2000, tolerance: 1e-10 })
      .scoreContexts(contexts).scores;
    const contextMatrix = denseFromItemLists(contexts, items);
    let exactResidual = 0;
    let approximateResidual = 0;
    for (let index = 0; index < exact.values.length; index++) {
      exactResidual += (contextMatrix.values[index] - exact.values[index]) ** 2;
      approximateResidual += (contextMatrix.values[index] - approximate.values[index]) ** 2;
    }
    expect(approximateResidual).toBeGreaterThanOrEqual(exactResidual * (1 - 1e-6));
    expect(approximateResidual).toBeLessThan(exactResidual * 1.01);
  });

  it('scores a multi-hot union of patterns', () => {
    // The patterns are three disjoint item blocks. The context is the union of blocks 0 and 2,
    // with one item repeated.
    const values = new Float32Array(3 * 9);
    for (let a = 0; a < 3; a++) for (let item = 3 * a; item < 3 * a + 3; item++) values[a * 9 + item] = 1;
    const projector = new PatternProjector(createDenseMatrix(values, 3, 9));

    const { weights, scores } = projector.scoreContexts([[0, 1, 2, 6, 7, 8, 8]]);
    expect(Array.from(weights.values).map((weight) => Number(weight.toFixed(6)))).toEqual([1, 0, 1]);
    expect(Array.from(scores.values).map((score) => Number(score.toFixed(6)))).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1]);

    const candidates = projector.scoreWeights(weights, [8, 4]);
    expect(candidates.columnCount).toBe(2);
    expect(candidates.values[0]).toBeCloseTo(1, 6);
    expect(candidates.values[1]).toBeCloseTo(0, 6);

    const empty = projector.scoreContexts([[]]);
    expect(Array.from(empty.weights.values)).toEqual([0, 0, 0]);
  });

  it('ranks held-out cluster items above chance', () => {
    // Four planted clusters of 25 items. Each user draws 10 items from one cluster and 1 from
    // anywhere, and the last cluster item is held out.
    const random = createRandom(41, 'clusters');
    const clusters = 4;
    const clusterSize = 25;
    const items = clusters * clusterSize;
    const users = Array.from({ length: 240 }, (_, user) => {
      const cluster = user % clusters;
      const chosen = new Set<number>();
      while (chosen.size < 11) chosen.add(cluster * clusterSize + Math.floor(random() * clusterSize));
      const ordered = [...chosen];
      const heldOut = ordered.pop()!;
      ordered.push(Math.floor(random() * items));
      return { train: ordered, heldOut };
    });

    const clientLists = [users.slice(0, 160), users.slice(160)].map((part) => part.map((user) => user.train));
    const clientPatterns = clientLists.map(
      (lists, client) => factorizeNonNegative(createBinaryMatrix(lists, items), { rank: 6, seed: client }).h,
    );
    const joint = factorizeJointPatterns(clientPatterns, { rank: 4, seed: 7, maxIterations: 500 });
    const { scores } = new PatternProjector(joint.patterns).scoreContexts(users.map((user) => user.train));

    let hits = 0;
    let rankSum = 0;
    users.forEach((user, index) => {
      const row = scores.values.subarray(index * items, (index + 1) * items);
      const rank = fullRankingRank(row, user.heldOut, user.train);
      rankSum += rank;
      if (rank < 10) hits++;
    });

    // A random ranking puts the held-out item in the top 10 of about 90 unseen items 11% of the time.
    const hitRate = hits / users.length;
    expect(hitRate).toBeGreaterThan(0.4);
    expect(rankSum / users.length).toBeLessThan(20);
  });
});

describe('factorization input errors', () => {
  const matrix = createBinaryMatrix([[0, 1], [1, 2], [2]], 4);

  it.each([
    [0, 'Invalid rank 0: pass an integer of at least 1.'],
    [1.5, 'Invalid rank 1.5'],
    [4, 'Rank 4 exceeds min(rows, columns) = 3 for a 3 × 4 matrix. Pass a rank of at most 3.'],
  ])('rejects rank %s', (rank, message) => {
    expect(() => factorizeNonNegative(matrix, { rank, seed: 1 })).toThrow(message);
  });

  it('rejects an item index out of range', () => {
    expect(() => createBinaryMatrix([[0], [4]], 4)).toThrow('Item index 4 in row 1 is outside 0..3');
    expect(() => createBinaryMatrix([[-1]], 4)).toThrow('Item index -1 in row 0 is outside 0..3');
    expect(() => createBinaryMatrix([[0.5]], 4)).toThrow('Item index 0.5 in row 0');
  });

  it('rejects negative and non-finite dense entries', () => {
    const negative = createDenseMatrix(Float32Array.from([1, -2, 3, 4]), 2, 2);
    const notANumber = createDenseMatrix(Float32Array.from([1, 2, Number.NaN, 4]), 2, 2);
    const infinite = createDenseMatrix(Float32Array.from([1, 2, 3, Number.POSITIVE_INFINITY]), 2, 2);

    expect(() => factorizeNonNegative(negative, { rank: 1, seed: 1 })).toThrow('Entry (0, 1) of the dense matrix is -2, which is negative.');
    expect(() => factorizeNonNegative(notANumber, { rank: 1, seed: 1 })).toThrow('Entry (1, 0) of the dense matrix is NaN, which is not finite.');
    expect(() => factorizeNonNegative(infinite, { rank: 1, seed: 1 })).toThrow('Entry (1, 1) of the dense matrix is Infinity');
  });

  it('rejects a dense shape that does not match', () => {
    expect(() => createDenseMatrix(new Float32Array(5), 2, 3)).toThrow('has 5 values but its shape 2 × 3 needs 6');
  });

  it('rejects bad iteration options', () => {
    expect(() => factorizeNonNegative(matrix, { rank: 1, seed: 1, maxIterations: 0 })).toThrow('Invalid maxIterations 0');
    expect(() => factorizeNonNegative(matrix, { rank: 1, seed: 1, tolerance: -1 })).toThrow('Invalid tolerance -1');
  });

  it('rejects an empty matrix', () => {
    expect(() => factorizeNonNegative(createBinaryMatrix([], 5), { rank: 1, seed: 1 })).toThrow('Cannot factorize a 0 × 5 matrix');
  });

  it('rejects mismatched client patterns and too high a global rank', () => {
    const first = createDenseMatrix(new Float32Array(6).fill(1), 2, 3);
    const second = createDenseMatrix(new Float32Array(4).fill(1), 1, 4);
    expect(() => factorizeJointPatterns([first, second], { rank: 1, seed: 1 })).toThrow(
      'The patterns of client 1 cover 4 items but those of client 0 cover 3.',
    );
    expect(() => factorizeJointPatterns([first], { rank: 3, seed: 1 })).toThrow(
      'Global rank 3 exceeds min(stacked patterns, items) = min(2, 3) = 2.',
    );
    expect(() => factorizeJointPatterns([], { rank: 1, seed: 1 })).toThrow('No client patterns to stack');
  });

  it('rejects out-of-range contexts and candidates', () => {
    const projector = new PatternProjector(createDenseMatrix(new Float32Array(8).fill(1), 2, 4));
    expect(() => projector.projectContexts([[1], [9]])).toThrow('Item index 9 in row 1 is outside 0..3');
    const weights = projector.projectContexts([[1]]);
    expect(() => projector.scoreWeights(weights, [0, 4])).toThrow('Candidate item 4 at position 1 is outside 0..3');
    expect(() => projector.projectContexts(createDenseMatrix(new Float32Array(3), 1, 3))).toThrow(
      'The context matrix has 3 columns but the patterns cover 4 items.',
    );
  });
});
