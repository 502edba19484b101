// The plaintext of a round upload: the client's logits on the transfer set and its evidence,
// the number of its training interactions that involve each probe item and each candidate.
// Layout: float32 logits [probes × candidates] || probe evidence [probes] || candidate evidence
// [candidates], little-endian.
import { bytesOf, float32ArrayFrom } from './binary.js';

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

export function uploadValueCount(shape: UploadShape): number {
  return shape.probes * shape.candidates + shape.probes + shape.candidates;
}

export function encodeLogitUpload(upload: LogitUpload): Uint8Array {
  const values = new Float32Array(upload.logits.length + upload.probeEvidence.length + upload.candidateEvidence.length);
  values.set(upload.logits, 0);
  values.set(upload.probeEvidence, upload.logits.length);
  values.set(upload.candidateEvidence, upload.logits.length + upload.probeEvidence.length);
  return bytesOf(values);
}

/**
 * Decodes and checks an upload: the size must match the round's transfer set, every value must
 * be finite, and evidence must be a non-negative count.
 */
export function decodeLogitUpload(payload: Uint8Array, shape: UploadShape): LogitUpload {
  const expected = uploadValueCount(shape);
  if (payload.byteLength !== expected * 4) {
    throw new LogitUploadError(
      'wrong-shape',
      `Upload holds ${payload.byteLength} bytes but ${shape.probes} probes × ${shape.candidates} ` +
        `candidates plus evidence need ${expected * 4}. Score the transfer set of this round.`,
    );
  }

  const values = float32ArrayFrom(payload, 'upload');
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      throw new LogitUploadError('non-finite', `Upload value ${k} is ${values[k]}; logits and evidence must be finite.`);
    }
  }

  const logitCount = shape.probes * shape.candidates;
  const probeEvidence = values.subarray(logitCount, logitCount + shape.probes);
  const candidateEvidence = values.subarray(logitCount + shape.probes);
  for (const [name, evidence] of [['probe', probeEvidence], ['candidate', candidateEvidence]] as const) {
    for (let k = 0; k < evidence.length; k++) {
      if (evidence[k] < 0 || !Number.isInteger(evidence[k])) {
        throw new LogitUploadError(
          'non-finite',
          `Evidence for ${name} ${k} is ${evidence[k]}; expected a non-negative interaction count.`,
        );
      }
    }
  }
  return { logits: values.subarray(0, logitCount), probeEvidence, candidateEvidence };
}
