import { describe, expect, it } from 'vitest';

import {
  Float16LogitCodec,
  Float32LogitCodec,
  Int8LogitCodec,
  LOGIT_CODECS,
  TopKLogitCodec,
  createLogitCodec,
  createRandom,
  floatToHalfBits,
  halfBitsToFloat,
  randomNormal,
  type LogitCodec,
  type LogitMatrixShape,
} from '../src/index.js';

const SHAPE: LogitMatrixShape = { probes: 12, candidates: 40 };

/** Builds a seeded matrix of normal logits with standard deviation 5. */
function randomLogits(shape: LogitMatrixShape, label: string): Float32Array {
  const random = createRandom(7, 'codecs', label);
  const logits = new Float32Array(shape.probes * shape.candidates);
  for (let i = 0; i < logits.length; i++) logits[i] = 5 * randomNormal(random);
  return logits;
}

function rowOf(logits: Float32Array, shape: LogitMatrixShape, probe: number): Float32Array {
  return logits.subarray(probe * shape.candidates, (probe + 1) * shape.candidates);
}

const CODECS: LogitCodec[] = [
  new Float32LogitCodec(),
  new Float16LogitCodec(),
  new Int8LogitCodec(),
  new TopKLogitCodec({ k: 5 }),
];

describe.each(CODECS.map((codec) => [codec.name, codec] as const))('%s codec contract', (_name, codec) => {
  const logits = randomLogits(SHAPE, codec.name);

  it('encodedBytes matches encode output', () => {
    expect(codec.encode(logits, SHAPE).byteLength).toBe(codec.encodedBytes(SHAPE));
    const single = { probes: 1, candidates: 3 };
    expect(codec.encode(new Float32Array([1, 2, 3]), single).byteLength).toBe(codec.encodedBytes(single));
  });

  it('rejects wrong payload length', () => {
    const bytes = codec.encode(logits, SHAPE);
    const expected = codec.encodedBytes(SHAPE);
    const pattern = new RegExp(`^${codec.name} codec: invalid payload length ${expected - 1} bytes: expected ${expected} bytes`);
    expect(() => codec.decode(bytes.subarray(1), SHAPE)).toThrow(pattern);
    expect(() => codec.decode(bytes, { probes: SHAPE.probes + 1, candidates: SHAPE.candidates })).toThrow(
      `${codec.name} codec: invalid payload length`,
    );
  });

  it('rejects NaN and infinite logits', () => {
    const withNaN = logits.slice();
    withNaN[17] = NaN;
    expect(() => codec.encode(withNaN, SHAPE)).toThrow(`${codec.name} codec: invalid logit NaN at index 17`);

    const withInfinity = logits.slice();
    withInfinity[3] = -Infinity;
    expect(() => codec.encode(withInfinity, SHAPE)).toThrow(`${codec.name} codec: invalid logit -Infinity at index 3`);
  });

  it('rejects logits not matching shape', () => {
    expect(() => codec.encode(logits.subarray(1), SHAPE)).toThrow(
      `${codec.name} codec: invalid logits length ${logits.length - 1}: expected probes × candidates = 12 × 40 = 480`,
    );
  });

  it('accepts unaligned payload bytes', () => {
    const bytes = codec.encode(logits, SHAPE);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    expect(codec.decode(shifted.subarray(1), SHAPE)).toEqual(codec.decode(bytes, SHAPE));
  });
});

describe('float32 codec', () => {
  it('round trips exactly', () => {
    const codec = new Float32LogitCodec();
    const logits = randomLogits(SHAPE, 'float32-exact');
    expect(codec.decode(codec.encode(logits, SHAPE), SHAPE)).toEqual(logits);
  });

  it('writes little-endian float32', () => {
    const bytes = new Float32LogitCodec().encode(new Float32Array([1]), { probes: 1, candidates: 1 });
    expect(Array.from(bytes)).toEqual([0x00, 0x00, 0x80, 0x3f]);
  });
});

describe('float16 codec', () => {
  const codec = new Float16LogitCodec();

  it('round trip within 2^-11', () => {
    const logits = randomLogits(SHAPE, 'float16-bound');
    const decoded = codec.decode(codec.encode(logits, SHAPE), SHAPE);
    let checked = 0;
    for (let i = 0; i < logits.length; i++) {
      if (Math.abs(logits[i]) < 2 ** -14) continue;
      expect(Math.abs(decoded[i] - logits[i]) / Math.abs(logits[i])).toBeLessThanOrEqual(2 ** -11);
      checked++;
    }
    expect(checked).toBeGreaterThan(logits.length * 0.99);
  });

  it('clamps out-of-range values', () => {
    const shape = { probes: 1, candidates: 4 };
    const decoded = codec.decode(codec.encode(new Float32Array([1e6, -1e6, 65519, 65520]), shape), shape);
    expect(Array.from(decoded)).toEqual([65504, -65504, 65504, 65504]);
  });

  it('encodes hand-worked values', () => {
    expect(floatToHalfBits(1)).toBe(0x3c00);
    expect(floatToHalfBits(-2)).toBe(0xc000);
    expect(floatToHalfBits(0.5)).toBe(0x3800);
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(0)).toBe(0x0000);
    expect(floatToHalfBits(-0)).toBe(0x8000);

    // 1e-8 lies below half the smallest subnormal half (2^-25 ≈ 2.98e-8), so it rounds to zero.
    expect(floatToHalfBits(1e-8)).toBe(0x0000);
    expect(floatToHalfBits(-1e-8)).toBe(0x8000);
  });

  it('decodes hand-worked values', () => {
    const shape = { probes: 1, candidates: 5 };
    const decoded = codec.decode(codec.encode(new Float32Array([1, -2, 0.5, 65504, 1e-8]), shape), shape);
    expect(Array.from(decoded)).toEqual([1, -2, 0.5, 65504, 0]);
  });

  it('rounds subnormals to nearest even', () => {
    // The smallest subnormal half is 2^-24, and the smallest normal half is 2^-14.
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
    expect(floatToHalfBits(2 ** -25)).toBe(0x0000);
    expect(floatToHalfBits(1.5 * 2 ** -24)).toBe(0x0002);
    expect(floatToHalfBits(2 ** -14)).toBe(0x0400);
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24);
    expect(halfBitsToFloat(0x03ff)).toBe(1023 * 2 ** -24);
  });

  it('rounds normal ties to even', () => {
    // Between 1 and 1 + 2^-10, the halfway point rounds down to the even fraction 0.
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    // Between 1 + 2^-10 and 1 + 2^-9, the halfway point rounds up to the even fraction 2.
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Rounding up from the largest fraction carries into the exponent.
    expect(floatToHalfBits(2 - 2 ** -12)).toBe(0x4000);
  });

  it('matches every half bit pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >>> 10) & 0x1f;
      if (exponent === 0x1f) continue;
      expect(floatToHalfBits(halfBitsToFloat(bits))).toBe(bits);
    }
  });
});

describe('int8 codec', () => {
  const codec = new Int8LogitCodec();

  /** Returns (max − min) / 510 plus the float32 rounding of the decoded value. */
  function rowErrorBound(row: Float32Array): number {
    const min = Math.min(...row);
    const max = Math.max(...row);
    const largest = Math.max(Math.abs(min), Math.abs(max));
    return (max - min) / 510 + largest * 2 ** -24;
  }

  it('round trip within row bound', () => {
    const logits = randomLogits(SHAPE, 'int8-bound');
    const decoded = codec.decode(codec.encode(logits, SHAPE), SHAPE);
    for (let probe = 0; probe < SHAPE.probes; probe++) {
      const row = rowOf(logits, SHAPE, probe);
      const decodedRow = rowOf(decoded, SHAPE, probe);
      const bound = rowErrorBound(row);
      for (let i = 0; i < row.length; i++) {
        expect(Math.abs(decodedRow[i] - row[i])).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('decodes row 0, 1, 2', () => {
    const shape = { probes: 1, candidates: 3 };
    const row = new Float32Array([0, 1, 2]);
    const decoded = codec.decode(codec.encode(row, shape), shape);
    expect(decoded[0]).toBe(0);
    expect(decoded[2]).toBe(2);
    expect(Math.abs(decoded[1] - 1)).toBeLessThanOrEqual(rowErrorBound(row));
  });

  it('decodes constant rows exactly', () => {
    const shape = { probes: 2, candidates: 4 };
    const logits = new Float32Array([3.25, 3.25, 3.25, 3.25, -0.1, -0.1, -0.1, -0.1]);
    expect(codec.decode(codec.encode(logits, shape), shape)).toEqual(logits);
  });

  it('stores row bounds and levels', () => {
    const shape = { probes: 1, candidates: 3 };
    const bytes = codec.encode(new Float32Array([0, 1, 2]), shape);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(0, true)).toBe(0);
    expect(view.getFloat32(4, true)).toBe(2);
    expect(Array.from(bytes.subarray(8))).toEqual([0, 128, 255]);
  });

  it('rejects corrupt row bounds', () => {
    const shape = { probes: 1, candidates: 3 };
    const bytes = codec.encode(new Float32Array([0, 1, 2]), shape);
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(4, -1, true);
    expect(() => codec.decode(bytes, shape)).toThrow('int8 codec: invalid row bounds [0, -1] for probe 0');
  });
});

describe('top-k codec', () => {
  const k = 5;
  const codec = new TopKLogitCodec({ k });

  it('round trip keeps top-k exact', () => {
    const logits = randomLogits(SHAPE, 'top-k-bound');
    const decoded = codec.decode(codec.encode(logits, SHAPE), SHAPE);

    for (let probe = 0; probe < SHAPE.probes; probe++) {
      const row = rowOf(logits, SHAPE, probe);
      const decodedRow = rowOf(decoded, SHAPE, probe);
      const ranked = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
      const top = new Set(ranked.slice(0, k));
      const dropped = ranked.slice(k);

      for (const index of top) expect(decodedRow[index]).toBe(row[index]);

      const tail = decodedRow[dropped[0]];
      for (const index of dropped) expect(decodedRow[index]).toBe(tail);

      const mean = dropped.reduce((sum, index) => sum + row[index], 0) / dropped.length;
      expect(Math.abs(tail - mean)).toBeLessThanOrEqual(Math.abs(mean) * 2 ** -23 + 1e-12);
    }
  });

  it('lossless when k ≥ candidates', () => {
    const shape = { probes: 3, candidates: 4 };
    const logits = randomLogits(shape, 'top-k-lossless');
    for (const wide of [new TopKLogitCodec({ k: 4 }), new TopKLogitCodec({ k: 100 })]) {
      expect(wide.encodedBytes(shape)).toBe(3 * (4 * (2 + 4) + 4));
      expect(wide.decode(wide.encode(logits, shape), shape)).toEqual(logits);
    }
  });

  it('tail is k-th value when all kept', () => {
    const shape = { probes: 1, candidates: 3 };
    const bytes = new TopKLogitCodec({ k: 3 }).encode(new Float32Array([2, 9, 4]), shape);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(3 * 2 + 3 * 4, true)).toBe(2);
  });

  it('breaks ties by lower index', () => {
    const shape = { probes: 1, candidates: 5 };
    const logits = new Float32Array([1, 3, 3, 0, 3]);
    const topTwo = new TopKLogitCodec({ k: 2 });
    const bytes = topTwo.encode(logits, shape);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([view.getUint16(0, true), view.getUint16(2, true)]).toEqual([1, 2]);
    expect(Array.from(topTwo.decode(bytes, shape))).toEqual([4 / 3, 3, 3, 4 / 3, 4 / 3].map(Math.fround));
  });

  it('uses uint32 indices above 65536', () => {
    expect(codec.encodedBytes({ probes: 2, candidates: 65536 })).toBe(2 * (k * (2 + 4) + 4));
    expect(codec.encodedBytes({ probes: 2, candidates: 65537 })).toBe(2 * (k * (4 + 4) + 4));

    const shape = { probes: 1, candidates: 65537 };
    const logits = new Float32Array(65537);
    logits[65536] = 10;
    const decoded = codec.decode(codec.encode(logits, shape), shape);
    expect(decoded[65536]).toBe(10);
  });

  it('rejects out-of-range indices', () => {
    const shape = { probes: 1, candidates: 3 };
    const bytes = new TopKLogitCodec({ k: 1 }).encode(new Float32Array([1, 2, 3]), shape);
    new DataView(bytes.buffer, bytes.byteOffset).setUint16(0, 7, true);
    expect(() => new TopKLogitCodec({ k: 1 }).decode(bytes, shape)).toThrow(
      'top-k codec: invalid candidate index 7 for probe 0',
    );
  });

  it('rejects invalid k', () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => new TopKLogitCodec({ k: bad })).toThrow(`top-k codec: invalid k ${bad}: expected an integer ≥ 1`);
    }
  });
});

describe('createLogitCodec', () => {
  it('builds every registered codec', () => {
    for (const name of LOGIT_CODECS) {
      expect(createLogitCodec(name, { k: 3 }).name).toBe(name);
    }
  });

  it('rejects unknown names', () => {
    expect(() => createLogitCodec('float8')).toThrow('Unknown logit codec "float8": expected float32, float16, int8 or top-k:K');
  });

  it('requires k for top-k', () => {
    expect(() => createLogitCodec('top-k')).toThrow('top-k codec: missing option k');
    expect((createLogitCodec('top-k', { k: 2 }) as TopKLogitCodec).k).toBe(2);
  });
});
