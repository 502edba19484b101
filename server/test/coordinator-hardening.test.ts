// Protocol hardening of a real coordinator: every class of bad message gets a rejection reply, a
// warn log line and a Prometheus count, and the round still closes with the honest uploads.
import { Writable } from 'node:stream';

import {
  type RegisterReply,
  type RejectionReason,
  type RoundTaskMessage,
  type UploadReply,
  type UploadShape,
  Float32LogitCodec,
  PROTOCOL_VERSION,
  clientIdFor,
  createIdentity,
  encodeLogitUpload,
  float32ArrayFrom,
  openTeacher,
  sealUpload,
  signRegistration,
  unboxRoundKey,
} from '@distillate/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Coordinator } from '../src/index.js';
import { ProtocolClient } from './protocol-client.js';

const itemIds = Array.from({ length: 150 }, (_, index) => `item-${index}`);

// Round 1 scores all 150 items of the catalog with one probe, because its budget of 4 × 10 logits
// is less than one probe's 150. A sealed float32 upload is then 1,286 bytes, so under the smallest
// message limit the coordinator accepts, every real upload travels in 2 parts.
const MAX_MESSAGE_BYTES = 1024;
const MAX_UPLOAD_BYTES_PER_ROUND = 8192;
// The misbehaving participant sends about 20 messages, all within the burst. The flood sends the
// burst plus FLOOD_EXTRA messages at once, and the bucket refills 1 token per second, so the last
// FLOOD_EXTRA of them are rejected unless the flood takes longer than FLOOD_EXTRA seconds.
const RATE_LIMIT = { messagesPerSecond: 1, burst: 30 };
const FLOOD_EXTRA = 5;
const ROUND_ID = 1;
const WARN = 40;

/** Pino JSON lines collected in memory. */
class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  private partial = '';

  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      const text = this.partial + chunk.toString('utf8');
      const complete = text.split('\n');
      this.partial = complete.pop() ?? '';
      for (const line of complete) if (line !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
}

/** A coordinator under test, with its log and the round id its rejections carry. */
interface Target {
  coordinator: Coordinator;
  url: string;
  logs: LogCapture;
  /** The latest round id when the rejections are sent, or null before the first round. */
  roundId: number | null;
}

type Reply = UploadReply | RegisterReply;

/** Result of a table row: the reply, the coordinator it went to, and the sender's registered client id or null. */
interface Outcome {
  reply: Reply;
  target: Target;
  clientId: string | null;
}

type RejectionCase = [name: string, send: () => Promise<Outcome>, reason: RejectionReason, event: string, error: RegExp];

async function startCoordinator(settings: Partial<ConstructorParameters<typeof Coordinator>[0]>, roundId: number | null): Promise<Target> {
  const logs = new LogCapture();
  const coordinator = new Coordinator({
    itemIds,
    rounds: 1,
    minClients: 3,
    probesPerRound: 4,
    candidatesPerRound: 10,
    roundTimeoutMs: 30_000,
    reportTimeoutMs: 30_000,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    maxUploadBytesPerRound: MAX_UPLOAD_BYTES_PER_ROUND,
    rateLimit: RATE_LIMIT,
    logger: pino({ level: 'info' }, logs.stream),
    ...settings,
  });
  const url = await coordinator.start();
  return { coordinator, url, logs, roundId };
}

/** Value of distillate_messages_rejected_total for one event and reason, 0 when the series does not exist yet. */
async function rejectedCount(url: string, event: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith('distillate_messages_rejected_total{') && candidate.includes(`event="${event}"`) && candidate.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function shapeOf(task: RoundTaskMessage): UploadShape {
  return { probes: task.transferSet!.probeOffsets.byteLength / 4 - 1, candidates: task.transferSet!.candidates.byteLength / 4 };
}

function validLogits(shape: UploadShape, fill: number): Uint8Array {
  return encodeLogitUpload(
    {
      logits: new Float32Array(shape.probes * shape.candidates).fill(fill),
      probeEvidence: new Float32Array(shape.probes).fill(1),
      candidateEvidence: new Float32Array(shape.candidates).fill(2),
    },
    new Float32LogitCodec(),
  );
}

/**
 * Builds an upload plaintext whose first logit is `value`. The float32 codec stores raw
 * little-endian floats, so the payload is built by hand, because the encoder rejects non-finite logits.
 */
function logitsWithFirstValue(shape: UploadShape, value: number): Uint8Array {
  const values = new Float32Array(shape.probes * shape.candidates + shape.probes + shape.candidates).fill(1);
  values[0] = value;
  return new Uint8Array(values.buffer);
}

function seal(client: ProtocolClient, sequence: number, payload: Uint8Array, options: { roundId?: number; sealedAs?: string } = {}): Uint8Array {
  const header = { roundId: options.roundId ?? ROUND_ID, clientId: options.sealedAs ?? client.clientId, sequence };
  return sealUpload(header, payload, client.sharedKey!);
}

function uploadMessage(upload: unknown, roundId = ROUND_ID, protocolVersion = PROTOCOL_VERSION) {
  return { protocolVersion, roundId, upload };
}

/** Sends `sealed` as round:upload-part messages of at most `partBytes` and returns the first rejection or the last reply. */
async function uploadInParts(client: ProtocolClient, sealed: Uint8Array, partBytes = MAX_MESSAGE_BYTES): Promise<UploadReply> {
  const count = Math.ceil(sealed.byteLength / partBytes);
  let reply: UploadReply = { ok: true };
  for (let index = 0; index < count && reply.ok; index++) {
    const part = sealed.slice(index * partBytes, (index + 1) * partBytes);
    reply = await client.uploadPart({ protocolVersion: PROTOCOL_VERSION, roundId: ROUND_ID, index, count, part });
  }
  return reply;
}

describe('coordinator hardening', () => {
  let main: Target;
  let allowlisted: Target;
  let alice: ProtocolClient;
  let bob: ProtocolClient;
  let mallory: ProtocolClient;
  let shape: UploadShape;
  const admittedIdentity = createIdentity();
  const accepted: string[] = [];
  const clients: ProtocolClient[] = [];

  /** Opens a connection that afterAll closes. */
  const connect = (target: Target, identity = createIdentity()) => {
    const client = new ProtocolClient(target.url, identity);
    clients.push(client);
    return client;
  };
  const fromMallory = async (reply: Promise<Reply>): Promise<Outcome> => ({ reply: await reply, target: main, clientId: mallory.clientId });

  beforeAll(async () => {
    main = await startCoordinator({}, ROUND_ID);
    // Its allowlist admits one identity, which no rejected client uses.
    allowlisted = await startCoordinator({ enrollment: { mode: 'allowlist', allowlist: [clientIdFor(admittedIdentity.signing.publicKey)], tokens: [] } }, null);
    main.coordinator.on('upload-accepted', ({ clientId }) => accepted.push(clientId));

    // The three registrations reach minClients, so round 1 opens with exactly these participants.
    alice = connect(main);
    bob = connect(main);
    mallory = connect(main);
    for (const client of [alice, bob, mallory]) {
      const reply = await client.register();
      if (!reply.ok) throw new Error(`Registration failed: ${reply.error}`);
    }
    const tasks = await Promise.all([alice, bob, mallory].map((client) => client.nextTask(1)));
    shape = shapeOf(tasks[0]);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all([main?.coordinator.stop(), allowlisted?.coordinator.stop()]);
  });

  it('opens a round that needs uploads in parts', () => {
    expect(main.coordinator.roundSummaries()).toHaveLength(1);
    expect(main.coordinator.roundSummaries()[0]).toMatchObject({ roundId: ROUND_ID, participants: 3, state: 'collecting' });
    expect(shape).toEqual({ probes: 1, candidates: itemIds.length });
    expect(seal(bob, 1, validLogits(shape, 0.5)).byteLength).toBe(1286);
  });

  it('accepts an honest upload before the rejections', async () => {
    expect(await uploadInParts(bob, seal(bob, 1, validLogits(shape, 0.25)))).toEqual({ ok: true });
    expect(accepted).toEqual([bob.clientId]);
  });

  // Rows run in order and share mallory's state. The replay rows follow mallory's one accepted
  // upload, and the parts row uses up mallory's byte allowance for the round, so it is the last
  // of mallory's rows.
  const rejections: RejectionCase[] = [
    [
      'upload that is not binary',
      () => fromMallory(mallory.upload(uploadMessage('not binary'))),
      'invalid-message',
      'upload',
      /^Invalid upload: upload: expected binary data\.$/,
    ],
    [
      'older protocol version',
      () => fromMallory(mallory.upload(uploadMessage(new Uint8Array(64), ROUND_ID, PROTOCOL_VERSION - 1))),
      'protocol-version',
      'upload',
      new RegExp(`^Protocol version ${PROTOCOL_VERSION - 1} is not supported.*Update the client\\.$`),
    ],
    [
      'upload from an unregistered connection',
      async () => {
        const stranger = connect(main);
        const reply = await stranger.upload(uploadMessage(new Uint8Array(64)));
        stranger.close();
        return { reply, target: main, clientId: null };
      },
      'not-registered',
      'upload',
      /has not registered\. Register first\.$/,
    ],
    [
      'message over maxMessageBytes',
      () => fromMallory(mallory.upload(uploadMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)))),
      'too-large',
      'upload',
      new RegExp(`^Upload of ${MAX_MESSAGE_BYTES + 1} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte message limit; send it in parts`),
    ],
    [
      'NaN logit',
      () => fromMallory(uploadInParts(mallory, seal(mallory, 1, logitsWithFirstValue(shape, Number.NaN)))),
      'non-finite',
      'upload-part',
      /^Upload logit 0 is NaN; logits must be finite\.$/,
    ],
    [
      'infinite logit',
      () => fromMallory(uploadInParts(mallory, seal(mallory, 1, logitsWithFirstValue(shape, Number.POSITIVE_INFINITY)))),
      'non-finite',
      'upload-part',
      /^Upload logit 0 is Infinity; logits must be finite\.$/,
    ],
    [
      'payload of the wrong shape',
      () => fromMallory(mallory.upload(uploadMessage(seal(mallory, 1, new Uint8Array(12))))),
      'wrong-shape',
      'upload',
      /^Upload holds 12 bytes but 1 probes × 150 candidates/,
    ],
    [
      'upload for a stale round',
      () => fromMallory(mallory.upload(uploadMessage(seal(mallory, 1, new Uint8Array(12), { roundId: 0 }), 0))),
      'stale-round',
      'upload',
      /^Upload for round 0 arrived but round 1 is collecting\.$/,
    ],
    [
      'tampered ciphertext',
      () => {
        const sealed = seal(mallory, 1, new Uint8Array(12));
        sealed[sealed.byteLength - 1] ^= 0xff;
        return fromMallory(mallory.upload(uploadMessage(sealed)));
      },
      'decryption-failed',
      'upload',
      /failed authentication/,
    ],
    [
      "payload sealed with another client's id",
      () => fromMallory(mallory.upload(uploadMessage(seal(mallory, 1, new Uint8Array(12), { sealedAs: alice.clientId })))),
      'wrong-client',
      'upload',
      /^Payload was sealed by client [0-9a-f]{32}, not by the sender [0-9a-f]{32}\.$/,
    ],
    [
      'replay of an accepted upload',
      async () => {
        const sealed = seal(mallory, 2, validLogits(shape, 0.75));
        const first = await uploadInParts(mallory, sealed);
        if (!first.ok) throw new Error(`The upload to replay was rejected: ${first.reason}: ${first.error}`);
        return fromMallory(uploadInParts(mallory, sealed));
      },
      'replay',
      'upload-part',
      /^Sequence number 2 is not above 2: the payload is a replay\.$/,
    ],
    [
      'sequence number below the last',
      () => fromMallory(mallory.upload(uploadMessage(seal(mallory, 1, new Uint8Array(12))))),
      'replay',
      'upload',
      /^Sequence number 1 is not above 2: the payload is a replay\.$/,
    ],
    [
      'second upload in one round',
      () => fromMallory(uploadInParts(mallory, seal(mallory, 3, validLogits(shape, 0.75)))),
      'duplicate',
      'upload-part',
      /already uploaded for round 1\.$/,
    ],
    [
      'parts over the per-round byte limit',
      async () => {
        // These parts alone add up to more than the limit, so one of them is rejected whatever mallory sent before.
        const count = MAX_UPLOAD_BYTES_PER_ROUND / MAX_MESSAGE_BYTES + 1;
        let reply: UploadReply = { ok: true };
        for (let index = 0; index < count && reply.ok; index++) {
          reply = await mallory.uploadPart({ protocolVersion: PROTOCOL_VERSION, roundId: ROUND_ID, index, count, part: new Uint8Array(MAX_MESSAGE_BYTES) });
        }
        return fromMallory(Promise.resolve(reply));
      },
      'too-large',
      'upload-part',
      new RegExp(`more than the ${MAX_UPLOAD_BYTES_PER_ROUND} bytes allowed per client per round\\.$`),
    ],
    [
      'registration with a wrong signature',
      async () => {
        const impostor = connect(main);
        // A signature over a challenge that this connection was not sent.
        const signature = signRegistration(impostor.identity, new Uint8Array(32).fill(7));
        return { reply: await impostor.register(10, { signature }), target: main, clientId: null };
      },
      'invalid-message',
      'register',
      /signature does not verify against the challenge of this connection/,
    ],
    [
      'registration not on the allowlist',
      async () => {
        const outsider = connect(allowlisted);
        return { reply: await outsider.register(), target: allowlisted, clientId: null };
      },
      'not-enrolled',
      'register',
      /is not on this coordinator's allowlist/,
    ],
    [
      'flood beyond the rate limit',
      async () => {
        const flooder = connect(main);
        const replies = await Promise.all(Array.from({ length: RATE_LIMIT.burst + FLOOD_EXTRA }, () => flooder.upload({})));
        return { reply: replies.at(-1)!, target: main, clientId: null };
      },
      'rate-limited',
      'upload',
      new RegExp(`more than ${RATE_LIMIT.burst} messages at once or ${RATE_LIMIT.messagesPerSecond} per second; slow down and retry\\.$`),
    ],
  ];

  describe.each(rejections)('rejects %s', (_name, send, reason, event, error) => {
    let outcome: Outcome;
    // Log length and metric value on each coordinator before the row is sent, so that each
    // check covers only what this row caused.
    const logStart = new Map<Target, number>();
    const countBefore = new Map<Target, number>();
    let countAfter: number;

    beforeAll(async () => {
      for (const target of [main, allowlisted]) {
        logStart.set(target, target.logs.lines.length);
        countBefore.set(target, await rejectedCount(target.url, event, reason));
      }
      outcome = await send();
      countAfter = await rejectedCount(outcome.target.url, event, reason);
    });

    it('replies with the reason and an error', () => {
      expect(outcome.reply).toMatchObject({ ok: false, reason });
      expect((outcome.reply as { error?: unknown }).error).toMatch(error);
    });

    it('logs a warning with the ids', () => {
      const { target, clientId } = outcome;
      const line = target.logs.lines.slice(logStart.get(target)).find((candidate) => candidate.reason === reason && candidate.event === event);

      expect(line, `no log line with reason ${reason} and event ${event}`).toBeDefined();
      expect(line!.level).toBe(WARN);
      expect(line).toHaveProperty('clientId', clientId);
      expect(line).toHaveProperty('roundId', target.roundId);
      expect(line!.err).toBe((outcome.reply as { error?: unknown }).error);
    });

    it('counts the rejection in /metrics', () => {
      expect(countAfter).toBeGreaterThanOrEqual(1);
      expect(countAfter - countBefore.get(outcome.target)!).toBeGreaterThanOrEqual(1);
    });
  });

  it('accepts an upload sent in parts', async () => {
    const sealed = seal(alice, 1, validLogits(shape, 0.5));
    const count = Math.ceil(sealed.byteLength / MAX_MESSAGE_BYTES);
    const replies: UploadReply[] = [];
    for (let index = 0; index < count; index++) {
      const part = sealed.slice(index * MAX_MESSAGE_BYTES, (index + 1) * MAX_MESSAGE_BYTES);
      expect(part.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      replies.push(await alice.uploadPart({ protocolVersion: PROTOCOL_VERSION, roundId: ROUND_ID, index, count, part }));
    }

    expect(count).toBe(2);
    expect(replies).toEqual([{ ok: true }, { ok: true }]);
    // Mallory's one valid upload, sent by the replay row, counts too.
    expect(accepted).toEqual([bob.clientId, mallory.clientId, alice.clientId]);
  });

  it('closes the round with a teacher', async () => {
    for (const client of [alice, bob]) {
      const message = await client.nextTeacher(1);
      expect(message.roundId).toBe(ROUND_ID);
      const roundKey = unboxRoundKey(ROUND_ID, message.roundKey, client.sharedKey!);
      const teacher = float32ArrayFrom(openTeacher({ roundId: ROUND_ID, ciphertext: message.teacher }, roundKey), 'teacher');
      expect(teacher.length).toBe(shape.probes * shape.candidates);
      expect(teacher.every(Number.isFinite)).toBe(true);
    }

    const summary = main.coordinator.roundSummaries()[0];
    expect(summary.state).toBe('closed');
    expect(summary.failure).toBeNull();
    // The two honest uploads and mallory's one valid upload count, and no rejected message does.
    expect(summary.uploads).toBe(3);
    expect(summary.rejectedUploads).toBeGreaterThan(0);
  });

  it('keeps serving after the rejections', async () => {
    const health = await fetch(`${main.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    expect(main.coordinator.ready).toBe(true);
  });

  it('admits a client on the allowlist', async () => {
    const admitted = connect(allowlisted, admittedIdentity);
    expect(await admitted.register()).toMatchObject({ ok: true, clientId: clientIdFor(admittedIdentity.signing.publicKey) });
  });
});
