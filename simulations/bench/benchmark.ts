// The contract of one throughput benchmark, and the timing rule they all follow: run a
// measurement a few times to warm up, then time it `repeats` times and report the median.

export interface BenchmarkOptions {
  /** Untimed runs before the timed ones, so that JIT compilation and caches settle. */
  warmups: number;
  /** Timed runs. Tables report their median. */
  repeats: number;
  /** Seed of the generated inputs and of the student initialisation. */
  seed: number;
}

/** One table of results, printed as Markdown. */
export interface BenchmarkTable {
  title: string;
  /** Description of the measurement: its inputs, its method and its units. */
  description: string;
  columns: string[];
  rows: string[][];
}

export interface Benchmark {
  /** Name for --only. */
  name: string;
  run(options: BenchmarkOptions): Promise<BenchmarkTable>;
}

export interface Timing {
  medianMs: number;
  samplesMs: number[];
}

/** Runs `measured` options.warmups times untimed, then options.repeats times timed. */
export function measureMedian(measured: () => void, options: BenchmarkOptions): Timing {
  for (let run = 0; run < options.warmups; run++) measured();

  const samplesMs: number[] = [];
  for (let run = 0; run < options.repeats; run++) {
    const start = performance.now();
    measured();
    samplesMs.push(performance.now() - start);
  }
  return { medianMs: median(samplesMs), samplesMs };
}

/** Returns the median of a non-empty list, which is the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('Cannot take the median of no values: run at least one repeat.');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Megabytes (10⁶ bytes) per second for `bytes` processed in `milliseconds`. */
export function megabytesPerSecond(bytes: number, milliseconds: number): number {
  return bytes / 1e6 / (milliseconds / 1000);
}

/** Formats a number with a fixed count of significant digits and thousands separators. */
export function formatNumber(value: number, significantDigits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const digitsBeforePoint = Math.max(1, Math.floor(Math.log10(Math.abs(value))) + 1);
  const fractionDigits = Math.max(0, significantDigits - digitsBeforePoint);
  return value.toLocaleString('en-US', { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits });
}

/** Describes the timing rule in a sentence, such as "Median of 5 runs after 1 warm-up run." */
export function describeTiming(options: BenchmarkOptions, unit: string): string {
  return `Median of ${countOf(options.repeats, unit)} after ${countOf(options.warmups, `warm-up ${unit}`)}.`;
}

function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
