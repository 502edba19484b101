// Key pairs of a federation party: Ed25519 for signatures and X25519 for encryption (tweetnacl).
import nacl from 'tweetnacl';

export interface Identity {
  signing: nacl.SignKeyPair;
  box: nacl.BoxKeyPair;
}

export interface PublicIdentity {
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
}

export function createIdentity(): Identity {
  return { signing: nacl.sign.keyPair(), box: nacl.box.keyPair() };
}

/**
 * Derives both key pairs from a text seed (SHA-512 of the seed, split in two halves). For
 * simulations only, where reproducible client ids make runs repeatable: anyone who knows the
 * seed has the keys.
 */
export function identityFromSeed(seed: string): Identity {
  const digest = nacl.hash(new TextEncoder().encode(`distillate/identity/${seed}`));
  return {
    signing: nacl.sign.keyPair.fromSeed(digest.subarray(0, 32)),
    box: nacl.box.keyPair.fromSecretKey(digest.subarray(32, 64)),
  };
}

export function publicIdentity(identity: Identity): PublicIdentity {
  return { signingPublicKey: identity.signing.publicKey, boxPublicKey: identity.box.publicKey };
}

/** Client id: the first 16 bytes of SHA-512 of the signing public key, in hex. Stable per key. */
export function clientIdFor(signingPublicKey: Uint8Array): string {
  return toHex(nacl.hash(signingPublicKey).subarray(0, 16));
}

/**
 * Fingerprint of a party's two public keys, for pinning: SHA-512 of signing key then box key,
 * first 16 bytes, as colon-separated hex pairs of bytes.
 */
export function fingerprintOf(identity: PublicIdentity): string {
  const keys = new Uint8Array(64);
  keys.set(identity.signingPublicKey, 0);
  keys.set(identity.boxPublicKey, 32);
  const hex = toHex(nacl.hash(keys).subarray(0, 16));
  return hex.match(/.{4}/g)!.join(':');
}

/** Signs the registration challenge together with the box key, so the box key is bound to the signer. */
export function signRegistration(identity: Identity, challenge: Uint8Array): Uint8Array {
  return nacl.sign.detached(registrationMessage(challenge, identity.box.publicKey), identity.signing.secretKey);
}

export function verifyRegistration(
  challenge: Uint8Array,
  claimed: PublicIdentity,
  signature: Uint8Array,
): boolean {
  if (claimed.signingPublicKey.length !== nacl.sign.publicKeyLength) return false;
  if (claimed.boxPublicKey.length !== nacl.box.publicKeyLength) return false;
  if (signature.length !== nacl.sign.signatureLength) return false;
  return nacl.sign.detached.verify(
    registrationMessage(challenge, claimed.boxPublicKey),
    signature,
    claimed.signingPublicKey,
  );
}

function registrationMessage(challenge: Uint8Array, boxPublicKey: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode('distillate/register/v1');
  const message = new Uint8Array(label.length + challenge.length + boxPublicKey.length);
  message.set(label, 0);
  message.set(challenge, label.length);
  message.set(boxPublicKey, label.length + challenge.length);
  return message;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
