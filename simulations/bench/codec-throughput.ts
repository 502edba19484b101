// Encode and decode throughput of every logit codec, and its payload size, on one upload of the
// main job's round shape.
import { LOGIT_CODECS, type LogitMatrixShape, createLogitCodec, createRandom, randomNormal } from '@distillate/shared';

import { type Benchmark, type BenchmarkOptions, describeTiming, formatNumber, measureMedian, megabytesPerSecond } from './benchmark.js';

const SHAPE: LogitMatrixShape = { probes: 512, candidates: 1024 };
const TOP_K = 32;
const LOGIT_STDDEV = 2;

export const codecBenchmark: Benchmark = {
  name: 'codecs',

  async run(options: BenchmarkOptions) {
    const random = createRandom(options.seed, 'bench', 'codecs');
    const logits = new Float32Array(SHAPE.probes * SHAPE.candidates);
    for (let k = 0; k < logits.length; k++) logits[k] = LOGIT_STDDEV * randomNormal(random);
    const rawBytes = logits.byteLength;

    const rows = LOGIT_CODECS.map((name) => {
      const codec = createLogitCodec(name, { k: TOP_K });
      const payload = codec.encode(logits, SHAPE);
      const encoding = measureMedian(() => codec.encode(logits, SHAPE), options);
      const decoding = measureMedian(() => codec.decode(payload, SHAPE), options);
      return [
        name === 'top-k' ? `top-k (k = ${TOP_K})` : name,
        payload.byteLength.toLocaleString('en-US'),
        `${formatNumber((100 * payload.byteLength) / rawBytes)}%`,
        formatNumber(encoding.medianMs),
        formatNumber(megabytesPerSecond(rawBytes, encoding.medianMs)),
        formatNumber(decoding.medianMs),
        formatNumber(megabytesPerSecond(rawBytes, decoding.medianMs)),
      ];
    });

    return {
      title: 'Codec throughput',
      description:
        `Each codec of LOGIT_CODECS on one matrix of ${SHAPE.probes} probes × ${SHAPE.candidates} candidates of seeded ` +
        `normal logits (standard deviation ${LOGIT_STDDEV}), ${rawBytes.toLocaleString('en-US')} bytes as float32. ` +
        'Both rates count the float32 size of the logits (10⁶ bytes per MB), so codecs compare on the same work; ' +
        `"size" is the payload relative to float32. ${describeTiming(options, 'run')}`,
      columns: ['codec', 'payload bytes', 'size', 'encode ms', 'encode MB/s', 'decode ms', 'decode MB/s'],
      rows,
    };
  },
};
