// The top-k logit codec: per probe row, the k largest logits with their candidate indices, plus
// one tail value for every other candidate. The tail is the mean of the dropped logits, or the
// k-th largest value when the row has no other candidates. Ties go to the lower index, so the
// encoding is deterministic.
// Size: probes × (k × (index bytes + 4) + 4) bytes, with 2-byte indices when candidates ≤ 65536
// and 4-byte indices otherwise. Error bound: the top k logits are exact, and every other logit
// decodes to the tail value (rounded to float32), so k ≥ candidates is lossless.
import {
  assertEncodableLogits,
  assertPayloadLength,
  validatedLogitCount,
  viewOf,
  type LogitCodec,
  type LogitMatrixShape,
} from './logit-codec.js';

export interface TopKLogitCodecOptions {
  /** Number of logits kept exactly per probe row, clamped to the number of candidates. */
  k: number;
}

export class TopKLogitCodec implements LogitCodec {
  readonly name = 'top-k';
  readonly k: number;

  constructor(options: TopKLogitCodecOptions) {
    if (!Number.isInteger(options.k) || options.k < 1) {
      throw new Error(
        `top-k codec: invalid k ${options.k}: expected an integer ≥ 1. ` +
          'Pass the number of logits to keep per probe.',
      );
    }
    this.k = options.k;
  }

  encodedBytes(shape: LogitMatrixShape): number {
    validatedLogitCount(this.name, shape);
    const layout = rowLayout(this.k, shape.candidates);
    return shape.probes * layout.rowBytes;
  }

  encode(logits: Float32Array, shape: LogitMatrixShape): Uint8Array {
    assertEncodableLogits(this.name, logits, shape);

    const { probes, candidates } = shape;
    const layout = rowLayout(this.k, candidates);
    const bytes = new Uint8Array(probes * layout.rowBytes);
    const view = viewOf(bytes);
    const order = new Array<number>(candidates);
    const inTopK = new Uint8Array(candidates);

    for (let probe = 0; probe < probes; probe++) {
      const row = logits.subarray(probe * candidates, (probe + 1) * candidates);

      // Rank candidates by logit, largest first, with ties to the lower index.
      for (let i = 0; i < candidates; i++) order[i] = i;
      order.sort((a, b) => row[b] - row[a] || a - b);

      const rowStart = probe * layout.rowBytes;
      inTopK.fill(0);
      for (let rank = 0; rank < layout.k; rank++) {
        const index = order[rank];
        inTopK[index] = 1;
        layout.writeIndex(view, rowStart + rank * layout.indexBytes, index);
        view.setFloat32(layout.valuesOffset + rowStart + rank * 4, row[index], true);
      }

      view.setFloat32(rowStart + layout.tailOffset, tailValue(row, inTopK, layout.k, order), true);
    }
    return bytes;
  }

  decode(bytes: Uint8Array, shape: LogitMatrixShape): Float32Array {
    const expectedBytes = this.encodedBytes(shape);
    assertPayloadLength(this.name, bytes, expectedBytes, shape);

    const { probes, candidates } = shape;
    const layout = rowLayout(this.k, candidates);
    const logits = new Float32Array(probes * candidates);
    const view = viewOf(bytes);
    const seen = new Uint8Array(candidates);

    for (let probe = 0; probe < probes; probe++) {
      const rowStart = probe * layout.rowBytes;
      const row = logits.subarray(probe * candidates, (probe + 1) * candidates);
      row.fill(view.getFloat32(rowStart + layout.tailOffset, true));

      seen.fill(0);
      for (let rank = 0; rank < layout.k; rank++) {
        const index = layout.readIndex(view, rowStart + rank * layout.indexBytes);
        if (index >= candidates || seen[index] === 1) {
          throw new Error(
            `${this.name} codec: invalid candidate index ${index} for probe ${probe}: expected distinct ` +
              `indices below ${candidates}. Decode with the codec, k and shape that encoded the payload.`,
          );
        }
        seen[index] = 1;
        row[index] = view.getFloat32(layout.valuesOffset + rowStart + rank * 4, true);
      }
    }
    return logits;
  }
}

interface RowLayout {
  /** Number of logits kept per row after clamping k to the candidate count. */
  k: number;
  indexBytes: 2 | 4;
  /** Offset of the kept values from the start of a row. */
  valuesOffset: number;
  /** Offset of the tail value from the start of a row. */
  tailOffset: number;
  rowBytes: number;
  writeIndex(view: DataView, offset: number, index: number): void;
  readIndex(view: DataView, offset: number): number;
}

/** Returns the byte layout of one row: k indices, then k float32 values, then the float32 tail. */
function rowLayout(k: number, candidates: number): RowLayout {
  const keptCount = Math.min(k, candidates);

  // Candidate indices run from 0 to candidates − 1, so 65536 candidates still fit in uint16.
  const indexBytes = candidates <= 65536 ? 2 : 4;

  const valuesOffset = keptCount * indexBytes;
  const tailOffset = valuesOffset + keptCount * 4;
  return {
    k: keptCount,
    indexBytes,
    valuesOffset,
    tailOffset,
    rowBytes: tailOffset + 4,
    writeIndex:
      indexBytes === 2
        ? (view, offset, index) => view.setUint16(offset, index, true)
        : (view, offset, index) => view.setUint32(offset, index, true),
    readIndex:
      indexBytes === 2
        ? (view, offset) => view.getUint16(offset, true)
        : (view, offset) => view.getUint32(offset, true),
  };
}

/**
 * Returns the mean of the logits not kept, or the k-th largest logit when every candidate is kept.
 * A row without candidates has tail 0.
 */
function tailValue(row: Float32Array, inTopK: Uint8Array, k: number, order: readonly number[]): number {
  if (row.length === 0) return 0;
  if (k === row.length) return row[order[k - 1]];

  // Summing in float64 keeps the mean accurate for wide rows.
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    if (inTopK[i] === 0) sum += row[i];
  }
  return sum / (row.length - k);
}
