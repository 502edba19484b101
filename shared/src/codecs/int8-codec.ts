// The int8 logit codec: per-row affine quantization to 8 bits. Each probe row stores its minimum
// (the offset) and maximum as float32, then one uint8 per logit with
// q = round((x − min) / (max − min) · 255), decoded as min + q · (max − min) / 255.
// Size: probes × (8 + candidates) bytes. Error bound: (max − min) / 510 per row, plus the float32
// rounding of the decoded value, and a constant row decodes exactly.
import {
  assertEncodableLogits,
  assertPayloadLength,
  validatedLogitCount,
  viewOf,
  type LogitCodec,
  type LogitMatrixShape,
} from './logit-codec.js';

const LEVELS = 255;

// Two float32 values per row: the minimum and the maximum.
const ROW_HEADER_BYTES = 8;

export class Int8LogitCodec implements LogitCodec {
  readonly name = 'int8';

  encodedBytes(shape: LogitMatrixShape): number {
    validatedLogitCount(this.name, shape);
    return shape.probes * (ROW_HEADER_BYTES + shape.candidates);
  }

  encode(logits: Float32Array, shape: LogitMatrixShape): Uint8Array {
    assertEncodableLogits(this.name, logits, shape);

    const { probes, candidates } = shape;
    const bytes = new Uint8Array(this.encodedBytes(shape));
    const view = viewOf(bytes);
    const rowBytes = ROW_HEADER_BYTES + candidates;

    for (let probe = 0; probe < probes; probe++) {
      const row = logits.subarray(probe * candidates, (probe + 1) * candidates);
      let min = Infinity;
      let max = -Infinity;
      for (const value of row) {
        if (value < min) min = value;
        if (value > max) max = value;
      }
      if (candidates === 0) min = max = 0;

      // The row maximum is stored instead of a rounded step size because both bounds are float32
      // logits and so stay exact, which keeps the decoder's arithmetic equal to the encoder's.
      const rowStart = probe * rowBytes;
      view.setFloat32(rowStart, min, true);
      view.setFloat32(rowStart + 4, max, true);

      // A constant row has range zero, so every level is 0 and decodes to the minimum exactly.
      const range = max - min;
      const levels = bytes.subarray(rowStart + ROW_HEADER_BYTES, rowStart + rowBytes);
      if (range > 0) {
        for (let i = 0; i < candidates; i++) levels[i] = Math.round(((row[i] - min) / range) * LEVELS);
      }
    }
    return bytes;
  }

  decode(bytes: Uint8Array, shape: LogitMatrixShape): Float32Array {
    assertPayloadLength(this.name, bytes, this.encodedBytes(shape), shape);

    const { probes, candidates } = shape;
    const logits = new Float32Array(probes * candidates);
    const view = viewOf(bytes);
    const rowBytes = ROW_HEADER_BYTES + candidates;

    for (let probe = 0; probe < probes; probe++) {
      const rowStart = probe * rowBytes;
      const min = view.getFloat32(rowStart, true);
      const max = view.getFloat32(rowStart + 4, true);
      if (!(min <= max) || !Number.isFinite(max - min)) {
        throw new Error(
          `${this.name} codec: invalid row bounds [${min}, ${max}] for probe ${probe}: expected finite ` +
            'values with min ≤ max. Decode with the codec and shape that encoded the payload.',
        );
      }
      const range = max - min;

      const levels = bytes.subarray(rowStart + ROW_HEADER_BYTES, rowStart + rowBytes);
      const row = logits.subarray(probe * candidates, (probe + 1) * candidates);
      for (let i = 0; i < candidates; i++) row[i] = min + (levels[i] * range) / LEVELS;
    }
    return logits;
  }
}
