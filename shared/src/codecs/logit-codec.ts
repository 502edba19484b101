// The contract every logit codec follows, plus the input checks the codecs share. A codec turns a
// row-major [probes × candidates] float32 logit matrix into bytes and back. Its payload size
// depends only on the shape, so a decoder can reject a payload of the wrong length before reading it.

/** Dimensions of a row-major logit matrix: one row per probe, one column per candidate. */
export interface LogitMatrixShape {
  probes: number;
  candidates: number;
}

export interface LogitCodec {
  readonly name: string;

  /** Returns the exact payload length in bytes that `encode` produces for this shape. */
  encodedBytes(shape: LogitMatrixShape): number;

  /** Encodes finite logits. Throws when the length does not match the shape or a value is not finite. */
  encode(logits: Float32Array, shape: LogitMatrixShape): Uint8Array;

  /** Decodes a payload of this codec. Throws when its byte length does not match the shape. */
  decode(bytes: Uint8Array, shape: LogitMatrixShape): Float32Array;
}

/** Returns probes × candidates after checking that both are non-negative integers. */
export function validatedLogitCount(codecName: string, shape: LogitMatrixShape): number {
  for (const dimension of ['probes', 'candidates'] as const) {
    const size = shape[dimension];
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(
        `${codecName} codec: invalid ${dimension} count ${size}: expected a non-negative integer. ` +
          'Pass the shape of the logit matrix.',
      );
    }
  }
  return shape.probes * shape.candidates;
}

/** Checks that the logits fill the shape exactly and are all finite. */
export function assertEncodableLogits(codecName: string, logits: Float32Array, shape: LogitMatrixShape): void {
  const expected = validatedLogitCount(codecName, shape);
  if (logits.length !== expected) {
    throw new Error(
      `${codecName} codec: invalid logits length ${logits.length}: expected probes × candidates = ` +
        `${shape.probes} × ${shape.candidates} = ${expected}. Pass a row-major matrix of that shape.`,
    );
  }

  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) {
      throw new Error(
        `${codecName} codec: invalid logit ${logits[i]} at index ${i}: expected a finite number. ` +
          'Replace NaN and infinite logits before encoding.',
      );
    }
  }
}

/** Checks that a payload has the length the codec produces for this shape. */
export function assertPayloadLength(codecName: string, bytes: Uint8Array, expectedBytes: number, shape: LogitMatrixShape): void {
  if (bytes.byteLength !== expectedBytes) {
    throw new Error(
      `${codecName} codec: invalid payload length ${bytes.byteLength} bytes: expected ${expectedBytes} bytes ` +
        `for ${shape.probes} probes × ${shape.candidates} candidates. ` +
        'Decode with the codec and shape that encoded the payload.',
    );
  }
}

/** Returns a little-endian view of the payload bytes. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
