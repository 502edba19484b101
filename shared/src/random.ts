// Seeded randomness. Every random choice in Distillate (splits, partitions, negative sampling,
// transfer-set sampling, weight initialisation) draws from a generator built here, so the same
// seed reproduces the same run.
import seedrandom from 'seedrandom';

/** A generator of uniform floats in [0, 1). */
export type Random = () => number;

/** Creates a generator from a seed and optional labels, so that each use gets its own stream. */
export function createRandom(seed: number | string, ...labels: Array<number | string>): Random {
  const key = [seed, ...labels].join('/');
  return seedrandom(key);
}

/** Derives a 32-bit integer seed, for libraries that take a numeric seed. */
export function deriveIntegerSeed(seed: number | string, ...labels: Array<number | string>): number {
  return Math.floor(createRandom(seed, ...labels)() * 0x7fffffff);
}

/** Returns a uniform integer in [0, exclusiveMax). */
export function randomInteger(random: Random, exclusiveMax: number): number {
  return Math.floor(random() * exclusiveMax);
}

/** Shuffles in place with Fisher–Yates and returns the same array. */
export function shuffleInPlace<T extends { length: number; [index: number]: any }>(
  values: T,
  random: Random,
): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInteger(random, i + 1);
    const swap = values[i];
    values[i] = values[j];
    values[j] = swap;
  }
  return values;
}

/** Draws `count` distinct integers from [0, populationSize), in random order. */
export function sampleWithoutReplacement(
  populationSize: number,
  count: number,
  random: Random,
): Int32Array {
  if (!Number.isInteger(count) || count < 0 || count > populationSize) {
    throw new RangeError(
      `Cannot sample ${count} distinct values from a population of ${populationSize}: ` +
        'ask for between 0 and the population size.',
    );
  }

  // Sparse Fisher–Yates: only the swapped positions are stored, so the cost is O(count).
  const swapped = new Map<number, number>();
  const sample = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const j = i + randomInteger(random, populationSize - i);
    const valueAtJ = swapped.get(j) ?? j;
    const valueAtI = swapped.get(i) ?? i;
    sample[i] = valueAtJ;
    swapped.set(j, valueAtI);
  }
  return sample;
}

/** Draws a standard normal value (Box–Muller). */
export function randomNormal(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Draws from Gamma(shape, 1) with the Marsaglia–Tsang method. */
export function randomGamma(random: Random, shape: number): number {
  if (shape < 1) {
    // Boost to shape + 1, then scale back down (Marsaglia and Tsang, 2000, section 6).
    const boosted = randomGamma(random, shape + 1);
    let u = 0;
    while (u === 0) u = random();
    return boosted * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = randomNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Draws a probability vector from a symmetric Dirichlet(concentration) over `size` outcomes. */
export function randomDirichlet(random: Random, concentration: number, size: number): Float64Array {
  const draws = new Float64Array(size);
  let total = 0;
  for (let i = 0; i < size; i++) {
    draws[i] = randomGamma(random, concentration);
    total += draws[i];
  }
  for (let i = 0; i < size; i++) draws[i] /= total;
  return draws;
}
