// The float32 logit codec: raw little-endian IEEE 754 single precision, the format payloads use
// today. Size: 4 bytes per logit. Lossless: decode returns the encoded values bit for bit.
import {
  assertEncodableLogits,
  assertPayloadLength,
  validatedLogitCount,
  viewOf,
  type LogitCodec,
  type LogitMatrixShape,
} from './logit-codec.js';

export class Float32LogitCodec implements LogitCodec {
  readonly name = 'float32';

  encodedBytes(shape: LogitMatrixShape): number {
    return validatedLogitCount(this.name, shape) * 4;
  }

  encode(logits: Float32Array, shape: LogitMatrixShape): Uint8Array {
    assertEncodableLogits(this.name, logits, shape);

    const bytes = new Uint8Array(this.encodedBytes(shape));
    const view = viewOf(bytes);
    for (let i = 0; i < logits.length; i++) view.setFloat32(i * 4, logits[i], true);
    return bytes;
  }

  decode(bytes: Uint8Array, shape: LogitMatrixShape): Float32Array {
    assertPayloadLength(this.name, bytes, this.encodedBytes(shape), shape);

    const logits = new Float32Array(validatedLogitCount(this.name, shape));
    const view = viewOf(bytes);
    for (let i = 0; i < logits.length; i++) logits[i] = view.getFloat32(i * 4, true);
    return logits;
  }
}
