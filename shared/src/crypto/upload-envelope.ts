// Encryption of client uploads with nacl.box. The authenticated plaintext starts with a header
// that binds the round id, the client id and a per-client sequence number, so the coordinator
// can reject replays, uploads from stale rounds, and uploads moved from one client to another.
import nacl from 'tweetnacl';

const HEADER_VERSION = 1;
const MAX_CLIENT_ID_BYTES = 255;

export interface UploadHeader {
  roundId: number;
  clientId: string;
  sequence: number;
}

export interface OpenedUpload {
  header: UploadHeader;
  payload: Uint8Array;
}

/** Why an upload could not be opened; one value per rejection reason. */
export type UploadRejection = 'decryption-failed' | 'malformed-header';

export class UploadEnvelopeError extends Error {
  constructor(
    readonly reason: UploadRejection,
    message: string,
  ) {
    super(message);
    this.name = 'UploadEnvelopeError';
  }
}

/**
 * Encrypts `payload` with a fresh random nonce. `sharedKey` comes from
 * nacl.box.before(coordinatorBoxPublicKey, clientBoxSecretKey). Returns nonce || ciphertext.
 */
export function sealUpload(header: UploadHeader, payload: Uint8Array, sharedKey: Uint8Array): Uint8Array {
  const clientIdBytes = new TextEncoder().encode(header.clientId);
  if (clientIdBytes.length > MAX_CLIENT_ID_BYTES) {
    throw new RangeError(`Client id "${header.clientId}" is longer than ${MAX_CLIENT_ID_BYTES} bytes.`);
  }

  const headerLength = 1 + 4 + 4 + 1 + clientIdBytes.length;
  const plaintext = new Uint8Array(headerLength + payload.length);
  const view = new DataView(plaintext.buffer);
  view.setUint8(0, HEADER_VERSION);
  view.setUint32(1, header.roundId, true);
  view.setUint32(5, header.sequence, true);
  view.setUint8(9, clientIdBytes.length);
  plaintext.set(clientIdBytes, 10);
  plaintext.set(payload, headerLength);

  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const ciphertext = nacl.box.after(plaintext, nonce, sharedKey);
  const sealed = new Uint8Array(nonce.length + ciphertext.length);
  sealed.set(nonce, 0);
  sealed.set(ciphertext, nonce.length);
  return sealed;
}

/** Decrypts and authenticates an upload. Checking the header against the round is the caller's job. */
export function openUpload(sealed: Uint8Array, sharedKey: Uint8Array): OpenedUpload {
  if (sealed.length < nacl.box.nonceLength + nacl.box.overheadLength) {
    throw new UploadEnvelopeError(
      'decryption-failed',
      `Upload of ${sealed.length} bytes is shorter than a nonce and an authentication tag.`,
    );
  }

  const nonce = sealed.subarray(0, nacl.box.nonceLength);
  const ciphertext = sealed.subarray(nacl.box.nonceLength);
  const plaintext = nacl.box.open.after(ciphertext, nonce, sharedKey);
  if (plaintext === null) {
    throw new UploadEnvelopeError(
      'decryption-failed',
      'Upload failed authentication: it was altered in transit or encrypted for another key.',
    );
  }

  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  if (plaintext.length < 10 || view.getUint8(0) !== HEADER_VERSION) {
    throw new UploadEnvelopeError('malformed-header', 'Upload header is truncated or of an unknown version.');
  }
  const clientIdLength = view.getUint8(9);
  if (plaintext.length < 10 + clientIdLength) {
    throw new UploadEnvelopeError('malformed-header', 'Upload header is truncated.');
  }

  return {
    header: {
      roundId: view.getUint32(1, true),
      sequence: view.getUint32(5, true),
      clientId: new TextDecoder().decode(plaintext.subarray(10, 10 + clientIdLength)),
    },
    payload: plaintext.subarray(10 + clientIdLength),
  };
}
