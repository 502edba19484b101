// The coordinator with each exchange and with compressing codecs, over real socket.io clients.
import {
  PROTOCOL_VERSION,
  codecFromSpec,
  decodeMatrixFrame,
  encodeLogitUpload,
  encodeMatrixFrame,
  openTeacher,
  sealUpload,
  unboxRoundKey,
} from '@distillate/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { Coordinator, type CoordinatorConfig } from '../src/index.js';
import { ProtocolClient } from './protocol-client.js';

const itemIds = Array.from({ length: 60 }, (_, index) => `item-${index}`);

describe('coordinator exchanges', () => {
  const running: Array<{ coordinator: Coordinator; clients: ProtocolClient[] }> = [];

  afterEach(async () => {
    for (const { coordinator, clients } of running.splice(0)) {
      clients.forEach((client) => client.close());
      await coordinator.stop();
    }
  });

  async function federation(config: Partial<CoordinatorConfig>, exampleCounts: number[]) {
    const coordinator = new Coordinator({
      itemIds,
      rounds: 1,
      minClients: exampleCounts.length,
      probesPerRound: 4,
      candidatesPerRound: 10,
      roundTimeoutMs: 30_000,
      reportTimeoutMs: 30_000,
      logger: pino({ level: 'silent' }),
      ...config,
    });
    const url = await coordinator.start();
    const clients = exampleCounts.map(() => new ProtocolClient(url));
    running.push({ coordinator, clients });
    for (const [index, client] of clients.entries()) {
      const reply = await client.register(exampleCounts[index]);
      expect(reply).toMatchObject({ ok: true, federation: { exchange: config.exchange ?? 'logits' } });
    }
    return clients;
  }

  const send = (client: ProtocolClient, sequence: number, payload: Uint8Array) =>
    client.upload({ protocolVersion: PROTOCOL_VERSION, roundId: 1, upload: sealUpload({ roundId: 1, clientId: client.clientId, sequence }, payload, client.sharedKey!) });

  const openTeacherOf = async (client: ProtocolClient) => {
    const message = await client.nextTeacher(1);
    return openTeacher({ roundId: 1, ciphertext: message.teacher }, unboxRoundKey(1, message.roundKey, client.sharedKey!));
  };

  it('decodes int8 uploads and sends a float16 teacher, smaller than float32 both ways', async () => {
    const clients = await federation({ aggregation: 'mean-logits', uploadCodec: 'int8', teacherCodec: 'float16', probesPerRound: 20, candidatesPerRound: 30 }, [10, 10]);
    const task = await clients[0].nextTask(1);
    const probes = task.transferSet!.probeOffsets.byteLength / 4 - 1;
    const candidates = task.transferSet!.candidates.byteLength / 4;
    const shape = { probes, candidates };
    const logitsOf = (client: number) => Float32Array.from({ length: probes * candidates }, (_, k) => Math.sin(k + client) * 3);
    const evidence = { probeEvidence: new Float32Array(probes).fill(1), candidateEvidence: new Float32Array(candidates).fill(1) };

    const int8 = codecFromSpec('int8');
    for (const [index, client] of clients.entries()) {
      const payload = encodeLogitUpload({ logits: logitsOf(index), ...evidence }, int8);
      const asFloat32 = encodeLogitUpload({ logits: logitsOf(index), ...evidence }, codecFromSpec('float32'));
      expect(payload.byteLength).toBeLessThan(asFloat32.byteLength / 2);
      expect(await send(client, 1, payload)).toEqual({ ok: true });
    }

    const teacherBytes = await openTeacherOf(clients[0]);
    expect(teacherBytes.byteLength).toBe(probes * candidates * 2);
    const teacher = codecFromSpec('float16').decode(teacherBytes, shape);
    const mean = logitsOf(0).map((value, k) => (value + logitsOf(1)[k]) / 2);
    // int8 keeps each row within range / 254 of the truth; float16 adds a relative 2^-11.
    teacher.forEach((value, k) => expect(Math.abs(value - mean[k])).toBeLessThan(6 / 254 + 0.01));
  });

  it('averages parameters weighted by the clients\' example counts (fedavg)', async () => {
    const clients = await federation({ exchange: 'parameters' }, [10, 30, 20]);
    const task = await clients[0].nextTask(1);
    expect(task.transferSet).toBeUndefined();

    const float32 = codecFromSpec('float32');
    const vector = (value: number, length = 5) => new Float32Array(length).fill(value);
    const frame = (values: Float32Array, rows = 1) => encodeMatrixFrame(values, { rows, columns: values.length / rows }, float32);
    expect(await send(clients[0], 1, frame(vector(1)))).toEqual({ ok: true });
    expect(await send(clients[1], 1, frame(vector(3)))).toEqual({ ok: true });

    // A vector of another size, or parameters sent as two rows, are rejected; the client can then send the right one.
    expect(await send(clients[2], 1, frame(vector(2, 6)))).toMatchObject({ ok: false, reason: 'wrong-shape', error: expect.stringContaining('6 parameters') });
    expect(await send(clients[2], 2, frame(vector(2, 10), 2))).toMatchObject({ ok: false, reason: 'wrong-shape' });
    const poisoned = vector(2);
    poisoned[3] = Number.NaN;
    expect(() => frame(poisoned)).toThrow('finite');
    expect(await send(clients[2], 3, frame(vector(2)))).toEqual({ ok: true });

    const { values, shape } = decodeMatrixFrame(await openTeacherOf(clients[1]), float32, { maxValues: 100 });
    expect(shape).toEqual({ rows: 1, columns: 5 });
    // (10 · 1 + 30 · 3 + 20 · 2) / 60
    values.forEach((value) => expect(value).toBeCloseTo(140 / 60, 5));
  });

  it('samples clients and sends a closing teacher', async () => {
    const clients = await federation({ clientsPerRound: 2, aggregation: 'mean-logits' }, [10, 10, 10]);
    while (clients.reduce((total, client) => total + client.tasks.length, 0) < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const sampled = clients.filter((client) => client.tasks.length === 1);
    const left = clients.filter((client) => client.tasks.length === 0);
    expect(sampled).toHaveLength(2);
    expect(left).toHaveLength(1);

    const task = sampled[0].tasks[0];
    const probes = task.transferSet!.probeOffsets.byteLength / 4 - 1;
    const candidates = task.transferSet!.candidates.byteLength / 4;
    const float32 = codecFromSpec('float32');
    for (const client of sampled) {
      const upload = { logits: new Float32Array(probes * candidates).fill(0.5), probeEvidence: new Float32Array(probes), candidateEvidence: new Float32Array(candidates) };
      expect(await send(client, 1, encodeLogitUpload(upload, float32))).toEqual({ ok: true });
    }

    // The participants get the teacher without a transfer set; the client left out gets it with one.
    expect((await sampled[0].nextTeacher(1)).transferSet).toBeUndefined();
    const closing = await left[0].nextTeacher(1);
    expect(closing.transferSet!.candidates).toEqual(task.transferSet!.candidates);
    const logits = float32.decode(await openTeacherOf(left[0]), { probes, candidates });
    logits.forEach((value) => expect(value).toBeCloseTo(0.5, 5));
  });

  it('rejects invalid codec and size settings', () => {
    const small = { probesPerRound: 4, candidatesPerRound: 10 };
    expect(() => new Coordinator({ itemIds, ...small, uploadCodec: 'top-k' })).toThrow('uploadCodec: Invalid codec "top-k": write top-k:K');
    expect(() => new Coordinator({ itemIds, ...small, teacherCodec: 'float8' })).toThrow('teacherCodec: Unknown logit codec "float8"');
    expect(() => new Coordinator({ itemIds, ...small, exchange: 'item-patterns', rounds: 3 })).toThrow('set rounds to 1');
    expect(() => new Coordinator({ itemIds, ...small, aggregation: 'trimmed-mean', aggregationParameters: { trim: 0.6 } })).toThrow('Invalid trim 0.6');
    expect(() => new Coordinator({ itemIds, ...small, exchange: 'parameters', uploadCodec: 'top-k:4' })).toThrow('top-k suits logits on a transfer set only');
    expect(() => new Coordinator({ itemIds, ...small, uploadByteBudget: 10 })).toThrow('uploadByteBudget is 10 bytes, less than the 40 bytes of one probe');
    const limits = { maxMessageBytes: 2_048, maxUploadBytesPerRound: 8_000 };
    expect(() => new Coordinator({ itemIds, probesPerRound: 60, candidatesPerRound: 60, ...limits })).toThrow('choose a smaller uploadCodec');
    expect(() => new Coordinator({ itemIds, probesPerRound: 60, candidatesPerRound: 60, ...limits, uploadCodec: 'top-k:4' })).not.toThrow();
    expect(() => new Coordinator({ itemIds, ...small, maxMessageBytes: 4_096, maxUploadBytesPerRound: 2_048 })).toThrow(
      'maxUploadBytesPerRound is 2048; expected an integer of at least 4096',
    );
  });
});
