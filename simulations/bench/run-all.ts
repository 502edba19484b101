// The throughput benchmarks: npm run bench [-- --only training,codecs] [--repeats n]. Prints the
// machine, then one Markdown table per benchmark.
import { cpus, loadavg } from 'node:os';

import { Command, InvalidArgumentError, Option } from 'commander';

import { aggregationBenchmark } from './aggregation-throughput.js';
import type { Benchmark, BenchmarkOptions } from './benchmark.js';
import { codecBenchmark } from './codec-throughput.js';
import { encryptionBenchmark } from './encryption-throughput.js';
import { formatMarkdownTable } from './markdown-table.js';
import { trainingEpochBenchmark } from './training-epoch.js';

const BENCHMARKS: Benchmark[] = [trainingEpochBenchmark, aggregationBenchmark, codecBenchmark, encryptionBenchmark];
const NAMES = BENCHMARKS.map((benchmark) => benchmark.name);

function integerAtLeast(option: string, minimum: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum) {
      throw new InvalidArgumentError(`${option} must be an integer of at least ${minimum}; got "${value}".`);
    }
    return parsed;
  };
}

function benchmarkNames(value: string): string[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !NAMES.includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown benchmark "${unknown.join(', ') || value}"; choose from ${NAMES.join(', ')}.`);
  }
  return names;
}

const program = new Command()
  .name('npm run bench --')
  .description('Measure training, aggregation, codec and encryption throughput, and print Markdown tables.')
  .addOption(
    new Option('--only <names>', `comma-separated benchmarks to run, from: ${NAMES.join(', ')}`)
      .argParser(benchmarkNames)
      .default(NAMES, 'all'),
  )
  .option('--repeats <n>', 'timed runs per measurement (epochs for training); tables give their median', integerAtLeast('--repeats', 1), 10)
  .option('--warmups <n>', 'untimed runs before the timed ones (epochs for training)', integerAtLeast('--warmups', 0), 1)
  .option('--seed <n>', 'seed of the generated inputs and of the student initialisation', integerAtLeast('--seed', 0), 1)
  .action(async (settings: { only: string[]; repeats: number; warmups: number; seed: number }) => {
    const options: BenchmarkOptions = { warmups: settings.warmups, repeats: settings.repeats, seed: settings.seed };
    const started = performance.now();

    console.log(
      [
        `Command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
        `Date: ${new Date().toISOString()}`,
        `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node.js ${process.version}, ` +
          `${process.platform} ${process.arch}, load average ${loadavg().map((load) => load.toFixed(2)).join(' ')} at start`,
      ].join('\n'),
    );

    for (const benchmark of BENCHMARKS.filter((candidate) => settings.only.includes(candidate.name))) {
      const table = await benchmark.run(options);
      console.log(`\n${formatMarkdownTable(table)}`);
    }

    console.log(`\nTotal wall time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });

await program.parseAsync();
