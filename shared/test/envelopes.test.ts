import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';

import {
  UploadEnvelopeError,
  boxRoundKey,
  clientIdFor,
  createIdentity,
  createRoundKey,
  fingerprintOf,
  openTeacher,
  openUpload,
  publicIdentity,
  sealTeacher,
  sealUpload,
  signRegistration,
  unboxRoundKey,
  verifyRegistration,
} from '../src/index.js';

const coordinator = createIdentity();
const client = createIdentity();
const clientSide = nacl.box.before(coordinator.box.publicKey, client.box.secretKey);
const coordinatorSide = nacl.box.before(client.box.publicKey, coordinator.box.secretKey);
const payload = new Uint8Array([1, 2, 3, 4, 5, 250]);
const header = { roundId: 7, clientId: clientIdFor(client.signing.publicKey), sequence: 3 };

describe('upload envelope', () => {
  it('round-trips header and payload', () => {
    const opened = openUpload(sealUpload(header, payload, clientSide), coordinatorSide);
    expect(opened.header).toEqual(header);
    expect(Array.from(opened.payload)).toEqual(Array.from(payload));
  });

  it('uses a fresh nonce for every upload', () => {
    const first = sealUpload(header, payload, clientSide);
    const second = sealUpload(header, payload, clientSide);
    expect(first.subarray(0, 24)).not.toEqual(second.subarray(0, 24));
  });

  it('rejects a payload altered in transit', () => {
    const sealed = sealUpload(header, payload, clientSide);
    sealed[sealed.length - 1] ^= 0x01;
    expect(() => openUpload(sealed, coordinatorSide)).toThrow(UploadEnvelopeError);
    expect(() => openUpload(sealed, coordinatorSide)).toThrow('failed authentication');
  });

  it('rejects an upload sealed for another coordinator', () => {
    const other = createIdentity();
    const sealed = sealUpload(header, payload, nacl.box.before(other.box.publicKey, client.box.secretKey));
    expect(() => openUpload(sealed, coordinatorSide)).toThrow('failed authentication');
  });

  it('rejects a truncated upload', () => {
    expect(() => openUpload(new Uint8Array(10), coordinatorSide)).toThrow('shorter than a nonce and an authentication tag');
  });
});

describe('teacher envelope', () => {
  it('round-trips through the boxed round key', () => {
    const roundKey = createRoundKey();
    const sealed = sealTeacher(4, payload, roundKey);
    const key = unboxRoundKey(4, boxRoundKey(4, roundKey, coordinatorSide), clientSide);
    expect(Array.from(openTeacher(sealed, key))).toEqual(Array.from(payload));
  });

  it('rejects a teacher replayed as another round', () => {
    const roundKey = createRoundKey();
    const sealed = sealTeacher(4, payload, roundKey);
    expect(() => openTeacher({ ...sealed, roundId: 5 }, roundKey)).toThrow('is for round 4, not round 5');
  });

  it('rejects a round key boxed to another client', () => {
    const other = createIdentity();
    const boxed = boxRoundKey(4, createRoundKey(), nacl.box.before(other.box.publicKey, coordinator.box.secretKey));
    expect(() => unboxRoundKey(4, boxed, clientSide)).toThrow('boxed for another client');
  });

  it('rejects an altered teacher', () => {
    const roundKey = createRoundKey();
    const sealed = sealTeacher(4, payload, roundKey);
    sealed.ciphertext[30] ^= 0xff;
    expect(() => openTeacher(sealed, roundKey)).toThrow('failed authentication');
  });
});

describe('identity', () => {
  it('derives a stable client id from the signing key', () => {
    expect(clientIdFor(client.signing.publicKey)).toBe(clientIdFor(client.signing.publicKey));
    expect(clientIdFor(client.signing.publicKey)).toMatch(/^[0-9a-f]{32}$/);
    expect(clientIdFor(coordinator.signing.publicKey)).not.toBe(clientIdFor(client.signing.publicKey));
  });

  it('formats fingerprints as colon-separated hex', () => {
    expect(fingerprintOf(publicIdentity(coordinator))).toMatch(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
  });

  it('verifies a registration signature over the challenge', () => {
    const challenge = nacl.randomBytes(32);
    const signature = signRegistration(client, challenge);
    expect(verifyRegistration(challenge, publicIdentity(client), signature)).toBe(true);
    expect(verifyRegistration(nacl.randomBytes(32), publicIdentity(client), signature)).toBe(false);
    const swappedBoxKey = { ...publicIdentity(client), boxPublicKey: coordinator.box.publicKey };
    expect(verifyRegistration(challenge, swappedBoxKey, signature)).toBe(false);
  });
});
