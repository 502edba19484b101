// Encryption of the teacher: one nacl.secretbox under a fresh round key, plus that key boxed to
// each recipient with nacl.box. Both plaintexts start with the round id, so a teacher or a key
// replayed from another round fails the check on opening.
import nacl from 'tweetnacl';

export interface SealedTeacher {
  roundId: number;
  /** nonce || secretbox ciphertext of (round id || teacher payload). */
  ciphertext: Uint8Array;
}

/** A round key boxed to one recipient: nonce || box ciphertext of (round id || key). */
export type BoxedRoundKey = Uint8Array;

export function createRoundKey(): Uint8Array {
  return nacl.randomBytes(nacl.secretbox.keyLength);
}

export function sealTeacher(roundId: number, payload: Uint8Array, roundKey: Uint8Array): SealedTeacher {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const ciphertext = nacl.secretbox(withRoundId(roundId, payload), nonce, roundKey);
  return { roundId, ciphertext: concat(nonce, ciphertext) };
}

export function openTeacher(sealed: SealedTeacher, roundKey: Uint8Array): Uint8Array {
  const nonce = sealed.ciphertext.subarray(0, nacl.secretbox.nonceLength);
  const plaintext = nacl.secretbox.open(sealed.ciphertext.subarray(nacl.secretbox.nonceLength), nonce, roundKey);
  if (plaintext === null) {
    throw new Error(`Teacher of round ${sealed.roundId} failed authentication: it was altered or the round key is wrong.`);
  }
  return stripRoundId(plaintext, sealed.roundId, 'teacher');
}

/** Boxes the round key to one recipient. `sharedKey` is nacl.box.before(recipient, coordinator). */
export function boxRoundKey(roundId: number, roundKey: Uint8Array, sharedKey: Uint8Array): BoxedRoundKey {
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  return concat(nonce, nacl.box.after(withRoundId(roundId, roundKey), nonce, sharedKey));
}

export function unboxRoundKey(roundId: number, boxed: BoxedRoundKey, sharedKey: Uint8Array): Uint8Array {
  const nonce = boxed.subarray(0, nacl.box.nonceLength);
  const plaintext = nacl.box.open.after(boxed.subarray(nacl.box.nonceLength), nonce, sharedKey);
  if (plaintext === null) {
    throw new Error(`Round key of round ${roundId} failed authentication: it was altered or boxed for another client.`);
  }
  const key = stripRoundId(plaintext, roundId, 'round key');
  if (key.length !== nacl.secretbox.keyLength) {
    throw new Error(`Round key of round ${roundId} has ${key.length} bytes, expected ${nacl.secretbox.keyLength}.`);
  }
  return key;
}

function withRoundId(roundId: number, payload: Uint8Array): Uint8Array {
  const plaintext = new Uint8Array(4 + payload.length);
  new DataView(plaintext.buffer).setUint32(0, roundId, true);
  plaintext.set(payload, 4);
  return plaintext;
}

function stripRoundId(plaintext: Uint8Array, expectedRoundId: number, what: string): Uint8Array {
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  const roundId = plaintext.length >= 4 ? view.getUint32(0, true) : -1;
  if (roundId !== expectedRoundId) {
    throw new Error(`The ${what} is for round ${roundId}, not round ${expectedRoundId}; it was replayed from another round.`);
  }
  return plaintext.subarray(4);
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}
