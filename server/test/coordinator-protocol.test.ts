import {
  type EvaluationReport,
  PROTOCOL_VERSION,
  emptyEvaluationSums,
  Float32LogitCodec,
  encodeLogitUpload,
  float32ArrayFrom,
  openTeacher,
  sealUpload,
  transferSetFromFrames,
  unboxRoundKey,
} from '@distillate/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Coordinator } from '../src/index.js';
import { ProtocolClient } from './protocol-client.js';

const itemIds = Array.from({ length: 150 }, (_, index) => `item-${index}`);

describe('coordinator protocol', () => {
  let coordinator: Coordinator;
  let url: string;
  let alice: ProtocolClient;
  let bob: ProtocolClient;

  beforeAll(async () => {
    coordinator = new Coordinator({
      itemIds,
      rounds: 1,
      minClients: 2,
      probesPerRound: 4,
      candidatesPerRound: 10,
      roundTimeoutMs: 30_000,
      reportTimeoutMs: 30_000,
      logger: pino({ level: 'silent' }),
    });
    url = await coordinator.start();
    alice = new ProtocolClient(url);
    bob = new ProtocolClient(url);
  });

  afterAll(async () => {
    alice.close();
    bob.close();
    await coordinator.stop();
  });

  const shapeOf = (task: { transferSet?: { probeOffsets: Uint8Array; candidates: Uint8Array } }) => ({
    probes: task.transferSet!.probeOffsets.byteLength / 4 - 1,
    candidates: task.transferSet!.candidates.byteLength / 4,
  });

  const logitUpload = (shape: { probes: number; candidates: number }, fill = 0.5) =>
    encodeLogitUpload({
      logits: new Float32Array(shape.probes * shape.candidates).fill(fill),
      probeEvidence: new Float32Array(shape.probes).fill(1),
      candidateEvidence: new Float32Array(shape.candidates).fill(2),
    }, new Float32LogitCodec());

  it('registers clients with a signed challenge', async () => {
    const reply = await alice.register();
    expect(reply.ok).toBe(true);
    if (reply.ok) {
      expect(reply.clientId).toMatch(/^[0-9a-f]{32}$/);
      expect(reply.federation).toMatchObject({ itemIds, exchange: 'logits', uploadCodec: 'float32', teacherCodec: 'float32' });
    }
    expect((await bob.register()).ok).toBe(true);
  });

  it('publishes a transfer set to every client', async () => {
    const task = await alice.nextTask(1);
    expect(task.roundId).toBe(1);
    const transferSet = transferSetFromFrames(task.roundId, task.transferSet!);
    expect(transferSet.candidates.length).toBe(150);
    expect((await bob.nextTask(1)).roundId).toBe(1);
  });

  it('rejects bad uploads with a reason', async () => {
    const task = await bob.nextTask(1);
    const shape = shapeOf(task);
    const valid = (client: ProtocolClient, sequence: number, payload = logitUpload(shape)) =>
      sealUpload({ roundId: 1, clientId: client.clientId, sequence }, payload, client.sharedKey!);

    const tampered = valid(bob, 1);
    tampered[40] ^= 0xff;
    const wrongShape = sealUpload({ roundId: 1, clientId: bob.clientId, sequence: 2 }, new Uint8Array(12), bob.sharedKey!);
    // The float32 codec writes raw little-endian floats, so a payload with NaN can be built by hand;
    // the client-side encoder refuses to produce one.
    const withNaN = new Float32Array(shape.probes * shape.candidates + shape.probes + shape.candidates).fill(1);
    withNaN[0] = Number.NaN;
    const nonFinite = valid(bob, 3, new Uint8Array(withNaN.buffer));
    const cases: Array<[string, ProtocolClient, unknown, string]> = [
      ['not binary', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: 'text' }, 'invalid-message'],
      ['old protocol', bob, { protocolVersion: 0, roundId: 1, upload: valid(bob, 1) }, 'protocol-version'],
      ['wrong round', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 9, upload: valid(bob, 1) }, 'stale-round'],
      ['tampered', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: tampered }, 'decryption-failed'],
      ['sealed as alice', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: sealUpload({ roundId: 1, clientId: alice.clientId, sequence: 1 }, logitUpload(shape), bob.sharedKey!) }, 'wrong-client'],
      ['wrong shape', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: wrongShape }, 'wrong-shape'],
      ['NaN logits', bob, { protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: nonFinite }, 'non-finite'],
    ];
    for (const [name, client, message, reason] of cases) {
      const reply = await client.upload(message);
      expect(reply, name).toMatchObject({ ok: false, reason });
    }

    const stranger = new ProtocolClient(url);
    expect(await stranger.upload({ protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: valid(bob, 9) })).toMatchObject({ ok: false, reason: 'not-registered' });
    stranger.close();
  });

  it('accepts a valid upload and rejects its replay', async () => {
    const shape = shapeOf(await alice.nextTask(1));
    const message = {
      protocolVersion: PROTOCOL_VERSION,
      roundId: 1,
      upload: sealUpload({ roundId: 1, clientId: alice.clientId, sequence: 1 }, logitUpload(shape), alice.sharedKey!),
    };
    expect(await alice.upload(message)).toEqual({ ok: true });
    expect(await alice.upload(message)).toMatchObject({ ok: false, reason: 'replay' });

    const second = sealUpload({ roundId: 1, clientId: alice.clientId, sequence: 2 }, logitUpload(shape), alice.sharedKey!);
    expect(await alice.upload({ ...message, upload: second })).toMatchObject({ ok: false, reason: 'duplicate' });
  });

  it('sends each client the teacher encrypted under a boxed round key', async () => {
    const shape = shapeOf(await bob.nextTask(1));
    const upload = sealUpload({ roundId: 1, clientId: bob.clientId, sequence: 10 }, logitUpload(shape, 0.25), bob.sharedKey!);
    expect(await bob.upload({ protocolVersion: PROTOCOL_VERSION, roundId: 1, upload })).toEqual({ ok: true });

    for (const client of [alice, bob]) {
      const message = await client.nextTeacher(1);
      const roundKey = unboxRoundKey(1, message.roundKey, client.sharedKey!);
      const teacher = float32ArrayFrom(openTeacher({ roundId: 1, ciphertext: message.teacher }, roundKey), 'teacher');
      expect(teacher.length).toBe(shape.probes * shape.candidates);
      expect(teacher.every(Number.isFinite)).toBe(true);
    }
    // The other client's round key does not open this client's teacher.
    const alicesKey = (await alice.nextTeacher(1)).roundKey;
    expect(() => unboxRoundKey(1, alicesKey, bob.sharedKey!)).toThrow('failed authentication');
  });

  it('collects encrypted reports and finishes', async () => {
    const report: EvaluationReport = { test: emptyEvaluationSums(), validation: emptyEvaluationSums(), finalStudentValidation: emptyEvaluationSums(), bytesSent: 1, bytesReceived: 2, bestRound: 1 };
    report.test.full.users = 3;
    report.test.full.hitRate[10] = 1;
    const send = (client: ProtocolClient, sequence: number, content: unknown) =>
      client.report({
        protocolVersion: PROTOCOL_VERSION,
        roundId: 1,
        upload: sealUpload({ roundId: 1, clientId: client.clientId, sequence }, new TextEncoder().encode(JSON.stringify(content)), client.sharedKey!),
      });

    await new Promise((resolve) => setTimeout(resolve, 50));
    const inflated = structuredClone(report);
    inflated.test.full.hitRate[10] = 7;
    expect(await send(alice, 20, inflated)).toMatchObject({ ok: false, reason: 'invalid-message' });
    expect(await send(alice, 21, report)).toEqual({ ok: true });
    expect(await send(bob, 20, report)).toEqual({ ok: true });

    const results = await coordinator.results();
    expect(results.rounds).toHaveLength(1);
    expect(results.rounds[0]).toMatchObject({ uploads: 2, participants: 2, state: 'closed' });
    expect(results.rounds[0].rejectedUploads).toBeGreaterThanOrEqual(9);
    expect(results.test.full.users).toBe(6);
    expect(results.test.full.hitRate[10]).toBe(2);
  });

  it('serves health and status over HTTP', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    const status = await (await fetch(`${url}/api/status`)).json();
    expect(status).toMatchObject({ state: 'finished', roundsCompleted: 1, clientsRegistered: 2, reports: 2 });
  });
});
