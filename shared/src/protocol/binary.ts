// Typed arrays on the wire. socket.io sends Uint8Array and Buffer values as binary attachments,
// so numeric payloads travel as raw little-endian bytes, never as JSON arrays or base64.
import { endianness } from 'node:os';

if (endianness() !== 'LE') {
  // The byte views below reinterpret memory in place, which matches the wire format only on
  // little-endian hosts (x86-64 and ARM64 as usually configured).
  throw new Error('Distillate needs a little-endian host: its wire format is little-endian.');
}

export function bytesOf(values: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Reads int32 values; copies when the bytes are not 4-byte aligned. Throws on a partial value. */
export function int32ArrayFrom(bytes: Uint8Array, what: string): Int32Array {
  return typedArrayFrom(bytes, what, Int32Array);
}

/** Reads float32 values; copies when the bytes are not 4-byte aligned. Throws on a partial value. */
export function float32ArrayFrom(bytes: Uint8Array, what: string): Float32Array {
  return typedArrayFrom(bytes, what, Float32Array);
}

function typedArrayFrom<T extends Int32Array | Float32Array>(
  bytes: Uint8Array,
  what: string,
  Type: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0) {
    throw new Error(
      `${what} has ${bytes.byteLength} bytes, which is not a whole number of ` +
        `${Type.BYTES_PER_ELEMENT}-byte values.`,
    );
  }
  // Node's Buffer.slice returns a view, so copy explicitly when the offset is unaligned.
  const aligned = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : new Uint8Array(bytes);
  return new Type(aligned.buffer, aligned.byteOffset, aligned.byteLength / Type.BYTES_PER_ELEMENT);
}
