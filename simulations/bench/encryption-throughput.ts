// Throughput of the payload encryption: the upload envelope (nacl.box with a precomputed shared
// key) and the teacher envelope (nacl.secretbox under a round key), on a 2 MiB payload.
import { createRandom, createRoundKey, openTeacher, openUpload, sealTeacher, sealUpload } from '@distillate/shared';
import nacl from 'tweetnacl';

import { type Benchmark, type BenchmarkOptions, describeTiming, formatNumber, measureMedian, megabytesPerSecond } from './benchmark.js';

const PAYLOAD_BYTES = 2 * 1024 * 1024;

export const encryptionBenchmark: Benchmark = {
  name: 'encryption',

  async run(options: BenchmarkOptions) {
    const random = createRandom(options.seed, 'bench', 'encryption');
    const payload = Uint8Array.from({ length: PAYLOAD_BYTES }, () => Math.floor(random() * 256));

    const client = nacl.box.keyPair();
    const coordinator = nacl.box.keyPair();
    const clientSharedKey = nacl.box.before(coordinator.publicKey, client.secretKey);
    const coordinatorSharedKey = nacl.box.before(client.publicKey, coordinator.secretKey);
    const header = { roundId: 7, clientId: 'bench-client', sequence: 1 };
    const sealedUpload = sealUpload(header, payload, clientSharedKey);

    const roundKey = createRoundKey();
    const sealedTeacher = sealTeacher(7, payload, roundKey);

    const operations: Array<[string, () => unknown]> = [
      ['sealUpload (nacl.box.after)', () => sealUpload(header, payload, clientSharedKey)],
      ['openUpload (nacl.box.open.after)', () => openUpload(sealedUpload, coordinatorSharedKey)],
      ['sealTeacher (nacl.secretbox)', () => sealTeacher(7, payload, roundKey)],
      ['openTeacher (nacl.secretbox.open)', () => openTeacher(sealedTeacher, roundKey)],
    ];

    const rows = operations.map(([label, operation]) => {
      const timing = measureMedian(operation, options);
      return [label, formatNumber(timing.medianMs), formatNumber(megabytesPerSecond(PAYLOAD_BYTES, timing.medianMs))];
    });

    return {
      title: 'Encryption throughput',
      description:
        `tweetnacl through the upload and teacher envelopes on a payload of ${PAYLOAD_BYTES.toLocaleString('en-US')} bytes ` +
        '(2 MiB, about one float32 upload of 512 probes × 1024 candidates). The upload uses a shared key ' +
        'precomputed with nacl.box.before, as clients and the coordinator do. Rates count payload bytes ' +
        `(10⁶ bytes per MB). ${describeTiming(options, 'run')}`,
      columns: ['operation', 'median ms', 'MB/s'],
      rows,
    };
  },
};
