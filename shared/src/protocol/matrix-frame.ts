// A matrix on the wire with its shape: rows and columns as uint32 little-endian, then the values
// in a logit codec. Parameter vectors (one row) and item patterns (one row per pattern) travel
// this way, since their shape is not fixed by a transfer set.
import type { LogitCodec } from '../codecs/logit-codec.js';
import { LogitUploadError } from './logit-upload.js';

const HEADER_BYTES = 8;

export interface MatrixShape {
  rows: number;
  columns: number;
}

/** Limits a receiver puts on a matrix before decoding it. */
export interface MatrixLimits {
  /** Required column count, when the receiver expects a fixed one. */
  columns?: number;
  /** Largest accepted rows × columns. */
  maxValues: number;
}


export function encodeMatrixFrame(values: Float32Array, shape: MatrixShape, codec: LogitCodec): Uint8Array {
  const encoded = codec.encode(values, { probes: shape.rows, candidates: shape.columns });
  const frame = new Uint8Array(HEADER_BYTES + encoded.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, shape.rows, true);
  view.setUint32(4, shape.columns, true);
  frame.set(encoded, HEADER_BYTES);
  return frame;
}

/** Decodes a frame after checking its shape against the limits and its length against the codec. Throws LogitUploadError. */
export function decodeMatrixFrame(frame: Uint8Array, codec: LogitCodec, limits: MatrixLimits): { values: Float32Array; shape: MatrixShape } {
  if (frame.byteLength < HEADER_BYTES) {
    throw new LogitUploadError('wrong-shape', `Matrix frame of ${frame.byteLength} bytes is shorter than its ${HEADER_BYTES}-byte shape header.`);
  }

  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const shape = { rows: view.getUint32(0, true), columns: view.getUint32(4, true) };
  if (limits.columns !== undefined && shape.columns !== limits.columns) {
    throw new LogitUploadError('wrong-shape', `Matrix has ${shape.columns} columns; expected ${limits.columns}, one per catalog item.`);
  }
  if (shape.rows < 1 || shape.columns < 1 || shape.rows * shape.columns > limits.maxValues) {
    throw new LogitUploadError('wrong-shape',
      `Matrix of ${shape.rows} × ${shape.columns} values is empty or above the limit of ${limits.maxValues} values.`,
    );
  }

  const codecShape = { probes: shape.rows, candidates: shape.columns };
  const expected = HEADER_BYTES + codec.encodedBytes(codecShape);
  if (frame.byteLength !== expected) {
    throw new LogitUploadError('wrong-shape',
      `Matrix frame holds ${frame.byteLength} bytes; ${shape.rows} × ${shape.columns} values in the ${codec.name} codec need ${expected}.`,
    );
  }

  let values: Float32Array;
  try {
    values = codec.decode(frame.subarray(HEADER_BYTES), codecShape);
  } catch (error) {
    throw new LogitUploadError('wrong-shape', `Matrix values do not decode: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new LogitUploadError('non-finite', `Matrix value ${bad} is ${values[bad]}; every value must be finite.`);
  return { values, shape };
}
