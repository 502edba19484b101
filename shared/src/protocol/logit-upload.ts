// The plaintext of a round upload: the client's logits on the transfer set and its evidence,
// the number of its training interactions that involve each probe item and each candidate.
// Layout: the logits [probes × candidates] in the run's upload codec || probe evidence [probes]
// || candidate evidence [candidates], both float32 little-endian.
import { bytesOf, float32ArrayFrom } from './binary.js';
import type { LogitCodec } from '../codecs/logit-codec.js';

export interface LogitUpload {
  logits: Float32Array;
  probeEvidence: Float32Array;
  candidateEvidence: Float32Array;
}

export interface UploadShape {
  probes: number;
  candidates: number;
}

/** A payload that does not match the round; `reason` is the rejection reason the coordinator reports. */
export class LogitUploadError extends Error {
  constructor(
    readonly reason: 'wrong-shape' | 'non-finite',
    message: string,
  ) {
    super(message);
    this.name = 'LogitUploadError';
  }
}

/** Bytes of an upload's plaintext for this shape and codec. */
export function logitUploadBytes(shape: UploadShape, codec: LogitCodec): number {
  return codec.encodedBytes(shape) + (shape.probes + shape.candidates) * 4;
}

export function encodeLogitUpload(upload: LogitUpload, codec: LogitCodec): Uint8Array {
  const shape = { probes: upload.probeEvidence.length, candidates: upload.candidateEvidence.length };
  const logits = codec.encode(upload.logits, shape);
  const payload = new Uint8Array(logits.length + (shape.probes + shape.candidates) * 4);
  payload.set(logits, 0);
  payload.set(bytesOf(upload.probeEvidence), logits.length);
  payload.set(bytesOf(upload.candidateEvidence), logits.length + shape.probes * 4);
  return payload;
}

/**
 * Decodes and checks an upload: the size must match the round's transfer set and codec, every
 * value must be finite, and evidence must be a non-negative count.
 */
export function decodeLogitUpload(payload: Uint8Array, shape: UploadShape, codec: LogitCodec): LogitUpload {
  const expected = logitUploadBytes(shape, codec);
  if (payload.byteLength !== expected) {
    throw new LogitUploadError(
      'wrong-shape',
      `Upload holds ${payload.byteLength} bytes but ${shape.probes} probes × ${shape.candidates} candidates ` +
        `in the ${codec.name} codec plus evidence need ${expected}. Score the transfer set of this round with the run's codec.`,
    );
  }

  const logitBytes = codec.encodedBytes(shape);
  let logits: Float32Array;
  try {
    logits = codec.decode(payload.subarray(0, logitBytes), shape);
  } catch (error) {
    throw new LogitUploadError('wrong-shape', `Upload logits do not decode: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (let k = 0; k < logits.length; k++) {
    if (!Number.isFinite(logits[k])) {
      throw new LogitUploadError('non-finite', `Upload logit ${k} is ${logits[k]}; logits must be finite.`);
    }
  }

  const evidence = float32ArrayFrom(payload.subarray(logitBytes), 'upload evidence');
  const probeEvidence = evidence.subarray(0, shape.probes);
  const candidateEvidence = evidence.subarray(shape.probes);
  for (const [name, counts] of [['probe', probeEvidence], ['candidate', candidateEvidence]] as const) {
    for (let k = 0; k < counts.length; k++) {
      if (!(counts[k] >= 0) || !Number.isInteger(counts[k])) {
        throw new LogitUploadError(
          'non-finite',
          `Evidence for ${name} ${k} is ${counts[k]}; expected a non-negative interaction count.`,
        );
      }
    }
  }
  return { logits, probeEvidence, candidateEvidence };
}
