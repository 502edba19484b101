// The float16 logit codec: IEEE 754 half precision, little-endian, rounded to nearest even.
// Size: 2 bytes per logit. Error bound: relative error at most 2^-11 for values in the normal
// half range [2^-14, 65504]. Smaller magnitudes become subnormal halves with an absolute error of
// at most 2^-25, and larger magnitudes clamp to ±65504.
import { floatToHalfBits, halfBitsToFloat } from './half-precision.js';
import {
  assertEncodableLogits,
  assertPayloadLength,
  validatedLogitCount,
  viewOf,
  type LogitCodec,
  type LogitMatrixShape,
} from './logit-codec.js';

export class Float16LogitCodec implements LogitCodec {
  readonly name = 'float16';

  encodedBytes(shape: LogitMatrixShape): number {
    return validatedLogitCount(this.name, shape) * 2;
  }

  encode(logits: Float32Array, shape: LogitMatrixShape): Uint8Array {
    assertEncodableLogits(this.name, logits, shape);

    const bytes = new Uint8Array(this.encodedBytes(shape));
    const view = viewOf(bytes);
    for (let i = 0; i < logits.length; i++) view.setUint16(i * 2, floatToHalfBits(logits[i]), true);
    return bytes;
  }

  decode(bytes: Uint8Array, shape: LogitMatrixShape): Float32Array {
    assertPayloadLength(this.name, bytes, this.encodedBytes(shape), shape);

    const logits = new Float32Array(validatedLogitCount(this.name, shape));
    const view = viewOf(bytes);
    const table = halfToFloatTable();
    for (let i = 0; i < logits.length; i++) logits[i] = table[view.getUint16(i * 2, true)];
    return logits;
  }
}

let table: Float32Array | null = null;

/** Returns the value of every half-precision bit pattern, computed once, because a lookup decodes far faster than the arithmetic. */
function halfToFloatTable(): Float32Array {
  if (table === null) table = Float32Array.from({ length: 0x10000 }, (_, bits) => halfBitsToFloat(bits));
  return table;
}
