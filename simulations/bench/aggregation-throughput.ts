// Throughput of every aggregation rule of the coordinator, in client logit values read per
// second, on seeded random uploads of the main job's round shape.
import { createRandom, randomInteger, randomNormal } from '@distillate/shared';
import {
  AGGREGATION_STRATEGIES,
  type ClientLogits,
  type LogitShape,
  createAggregationStrategy,
} from '@distillate/server';

import { type Benchmark, type BenchmarkOptions, describeTiming, formatNumber, measureMedian } from './benchmark.js';

const SHAPE: LogitShape = { probes: 512, candidates: 1024 };
const CLIENT_COUNTS = [8, 32];

/** Standard deviation of the generated logits, about the spread of a trained student's logits. */
const LOGIT_STDDEV = 2;

export const aggregationBenchmark: Benchmark = {
  name: 'aggregation',

  async run(options: BenchmarkOptions) {
    const uploads = generateUploads(Math.max(...CLIENT_COUNTS), options.seed);
    const valuesPerClient = SHAPE.probes * SHAPE.candidates;

    const rows = AGGREGATION_STRATEGIES.map((name) => {
      const strategy = createAggregationStrategy(name);
      const cells: string[] = [name];
      for (const clients of CLIENT_COUNTS) {
        const inputs = uploads.slice(0, clients);
        const timing = measureMedian(() => strategy.aggregate(inputs, SHAPE), options);
        const valuesPerSecond = (clients * valuesPerClient) / (timing.medianMs / 1000);
        cells.push(formatNumber(timing.medianMs), formatNumber(valuesPerSecond / 1e6));
      }
      return cells;
    });

    return {
      title: 'Aggregation throughput',
      description:
        `Each rule of AGGREGATION_STRATEGIES with its default parameters, on ${SHAPE.probes} probes × ` +
        `${SHAPE.candidates} candidates per client. Logits are seeded normal values (standard deviation ${LOGIT_STDDEV}), ` +
        'per-probe evidence a seeded integer from 0 to 4, and example counts from 100 to 1,099. ' +
        `${describeTiming(options, 'run')} Throughput counts the logit values of all clients ` +
        '(clients × probes × candidates) per second, in millions.',
      columns: ['rule', ...CLIENT_COUNTS.flatMap((clients) => [`${clients} clients: median ms`, `${clients} clients: M values/s`])],
      rows,
    };
  },
};

function generateUploads(clients: number, seed: number): ClientLogits[] {
  const random = createRandom(seed, 'bench', 'aggregation');
  return Array.from({ length: clients }, (_, client) => {
    const logits = new Float32Array(SHAPE.probes * SHAPE.candidates);
    for (let k = 0; k < logits.length; k++) logits[k] = LOGIT_STDDEV * randomNormal(random);

    const probeEvidence = new Float32Array(SHAPE.probes);
    for (let q = 0; q < SHAPE.probes; q++) probeEvidence[q] = randomInteger(random, 5);

    return { clientId: `client-${client}`, logits, probeEvidence, exampleCount: 100 + randomInteger(random, 1000) };
  });
}
