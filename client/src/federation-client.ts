// A federation client: connects to a coordinator over socket.io, registers with a signed
// challenge, answers each round with encrypted logits, decrypts the teachers, and sends an
// encrypted evaluation report at the end. Learning is delegated to a FederatedLearner.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

import {
  type ClientToServerEvents,
  type EvaluationReport,
  type FederationSettings,
  type Identity,
  type LogitCodec,
  type RoundMetrics,
  type RoundTaskMessage,
  type ServerToClientEvents,
  type TransferSet,
  type UploadReply,
  PROTOCOL_VERSION,
  challengeMessageSchema,
  codecFromSpec,
  decodeMatrixFrame,
  describeSchemaError,
  encodeLogitUpload,
  encodeMatrixFrame,
  federationCompleteMessageSchema,
  fingerprintOf,
  openTeacher,
  registerReplySchema,
  roundTaskMessageSchema,
  sealUpload,
  signRegistration,
  teacherMessageSchema,
  transferSetFromFrames,
  unboxRoundKey,
  validateTransferSet,
} from '@distillate/shared';
import pino, { type Logger } from 'pino';
import { type Socket, io } from 'socket.io-client';
import nacl from 'tweetnacl';

import type { FederatedLearner } from './federated-learner.js';

export interface FederationClientOptions {
  url: string;
  identity: Identity;
  learner: FederatedLearner;
  /** Expected fingerprint of the coordinator's keys; the client refuses any other coordinator. */
  coordinatorFingerprint?: string;
  /** One-time enrollment token, for a coordinator that admits new clients by token. */
  enrollmentToken?: string;
  /**
   * File where the learner's models and progress are written after every teacher, and read
   * back at start when it exists, so that a restarted client goes on where it stopped. Only
   * learners with checkpoint() support it (fedpdd, fedmd and dsfl).
   */
  checkpointFile?: string;
  /** PEM certificates to trust for an https coordinator, such as its self-signed certificate. */
  ca?: string;
  /** Reconnection backoff: first delay and largest delay, in milliseconds (defaults 500 and 10,000). */
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  logger?: Logger;
}

export interface FederationClientEvents {
  registered: [{ clientId: string; rounds: number }];
  'round-started': [{ roundId: number }];
  'round-uploaded': [{ roundId: number }];
  'teacher-received': [{ roundId: number }];
  finished: [EvaluationReport];
  error: [Error];
}

type FederationSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export class FederationClient extends EventEmitter<FederationClientEvents> {
  clientId: string | null = null;
  bytesSent = 0;
  bytesReceived = 0;

  private readonly logger: Logger;
  private socket: FederationSocket | null = null;
  private sharedKey: Uint8Array | null = null;
  private sequence = 0;
  private readonly transferSets = new Map<number, TransferSet>();
  /** Rounds this client uploaded for and has no teacher for yet. */
  private readonly answered = new Set<number>();
  /** Rounds whose teacher this client has learned from; a teacher sent again is ignored. */
  private readonly taught = new Set<number>();
  /** The plaintext of the latest upload, kept until its teacher arrives so that a task sent again after a reconnection gets the same upload without training twice. */
  private lastAnswer: { roundId: number; payload: Uint8Array } | null = null;
  /** The evaluation report, kept so that a request sent again gets the same report without evaluating twice. */
  private report: EvaluationReport | null = null;
  /** Resolves once the current connection has registered; replaced on every disconnection. */
  private session: Promise<void>;
  private sessionOpened: () => void = () => {};
  private maxMessageBytes = Number.POSITIVE_INFINITY;
  private federationId = '';
  /** Messages are handled one at a time, in arrival order. */
  private work: Promise<void> = Promise.resolve();
  private prepared = false;
  private failure: Error | null = null;
  private itemCount = 0;
  private codecs: { upload: LogitCodec; teacher: LogitCodec } | null = null;
  private sendRoundMetrics = false;
  private completion: { resolve: (report: EvaluationReport) => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: FederationClientOptions) {
    super();
    this.logger = (options.logger ?? pino({ level: 'info' })).child({ component: 'client' });
    this.session = new Promise((resolve) => (this.sessionOpened = resolve));
  }

  /** Connects and registers; resolves with the client id. */
  connect(): Promise<string> {
    const socket: FederationSocket = io(this.options.url, {
      transports: ['websocket'],
      // socket.io-client retries with exponential backoff and jitter between these delays, without limit.
      reconnectionDelay: this.options.reconnectionDelayMs ?? 500,
      reconnectionDelayMax: this.options.reconnectionDelayMaxMs ?? 10_000,
      ca: this.options.ca,
    });
    this.socket = socket;
    this.countBytes(socket);

    return new Promise<string>((resolve, reject) => {
      // Registration runs outside the message queue: a task waiting there for a session must not block the next registration.
      let registering: Promise<void> = Promise.resolve();
      socket.on('session:challenge', (message) => {
        registering = registering
          .then(async () => {
            if (this.failure !== null) return;
            resolve(await this.register(message));
            this.sessionOpened();
          })
          .catch((error: unknown) => this.fail(error, reject));
      });
      socket.on('round:task', (message) => this.enqueue(() => this.onTask(message)));
      socket.on('round:teacher', (message) => this.enqueue(() => this.onTeacher(message)));
      socket.on('federation:complete', (message) => this.enqueue(() => this.onComplete(message)));
      let failedAttempts = 0;
      socket.on('connect_error', (error) => {
        failedAttempts += 1;
        const cause = connectionFailureCause(error);
        // A certificate problem does not go away by retrying, unless the coordinator's certificate changes.
        const advice = /certificate|altnames|self-signed/i.test(cause ?? '')
          ? "the coordinator's TLS certificate is not trusted or does not name this address; give its certificate as the client's ca (--ca)"
          : 'check the URL if this repeats';
        this.logger.warn({ url: this.options.url, attempt: failedAttempts, err: error.message, cause }, `failed to connect to the coordinator, retrying with backoff (${advice})`);
      });
      socket.on('connect', () => {
        failedAttempts = 0;
      });
      socket.on('disconnect', (reason) => {
        this.session = new Promise((resolve) => (this.sessionOpened = resolve));
        // 'io client disconnect' is this client closing the socket itself, as it does when it finishes.
        if (reason === 'io client disconnect') this.logger.info({ reason }, 'disconnected from coordinator');
        else this.logger.warn({ reason }, 'disconnected from coordinator');
      });
    });
  }

  /** Number of rounds whose teacher this client has learned from. */
  get teachersReceived(): number {
    return this.taught.size;
  }

  /** Resolves with the report once the coordinator has accepted it. */
  finished(): Promise<EvaluationReport> {
    return new Promise((resolve, reject) => (this.completion = { resolve, reject }));
  }

  close(): void {
    this.socket?.close();
  }

  private enqueue(task: () => Promise<void>): void {
    // After a failure the client stops, so messages still queued behind it are dropped.
    this.work = this.work.then(() => (this.failure === null ? task() : undefined)).catch((error: unknown) => this.fail(error));
  }

  private fail(error: unknown, onError?: (error: Error) => void): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failure = failure;
    this.logger.error({ err: failure.message }, 'client task failed');
    onError?.(failure);
    this.completion?.reject(failure);
    // Callers also learn of the failure from the rejections above and from the log. An 'error'
    // event without a listener would throw, and crash a process that handled those rejections.
    if (this.listenerCount('error') > 0) this.emit('error', failure);
  }

  /**
   * Sends a sealed message once this connection has registered, and returns the reply. A
   * message lost to a disconnection, or rejected because the new connection had not registered
   * yet, is sent again on the next session, until `deadline` (Unix milliseconds) passes.
   */
  private async sendWhenRegistered(
    event: 'round:upload' | 'round:metrics' | 'evaluation:report',
    roundId: number,
    payload: Uint8Array,
    deadline: number,
  ): Promise<UploadReply> {
    for (;;) {
      await this.session;
      const sealed = sealUpload({ roundId, clientId: this.clientId!, sequence: ++this.sequence }, payload, this.sharedKey!);
      try {
        const reply =
          event === 'round:upload' && sealed.byteLength > this.maxMessageBytes
            ? await this.sendInParts(roundId, sealed)
            : await this.request(event, { protocolVersion: PROTOCOL_VERSION, roundId, upload: sealed });
        if (reply.ok || reply.reason !== 'not-registered') return reply;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`Sending ${event} for round ${roundId} failed and its deadline passed: ${(error as Error).message}`);
        this.logger.warn({ roundId, event, err: (error as Error).message }, 'message not acknowledged; sending it again once reconnected');
        continue;
      }
      if (Date.now() > deadline) return { ok: false, reason: 'not-registered', error: `The deadline of round ${roundId} passed before this client could register again.` };
    }
  }

  /** Emits a message and waits for its acknowledgement; fails at once if the connection drops first, since that reply will never come. */
  private async request(event: 'round:upload' | 'round:upload-part' | 'round:metrics' | 'evaluation:report', message: object): Promise<UploadReply> {
    const socket = this.socket!;
    let onDisconnect = () => {};
    const disconnected = new Promise<never>((_, reject) => {
      onDisconnect = () => reject(new Error('the connection dropped before the coordinator replied'));
      socket.once('disconnect', onDisconnect);
    });
    try {
      return (await Promise.race([socket.timeout(60_000).emitWithAck(event, message as never), disconnected])) as UploadReply;
    } finally {
      socket.off('disconnect', onDisconnect);
    }
  }

  /** Sends an upload larger than the coordinator's message limit as numbered parts; the last part's reply is the upload's. */
  private async sendInParts(roundId: number, sealed: Uint8Array): Promise<UploadReply> {
    const count = Math.ceil(sealed.byteLength / this.maxMessageBytes);
    let reply: UploadReply = { ok: true };
    for (let index = 0; index < count; index++) {
      const part = sealed.subarray(index * this.maxMessageBytes, (index + 1) * this.maxMessageBytes);
      reply = await this.request('round:upload-part', { protocolVersion: PROTOCOL_VERSION, roundId, index, count, part });
      if (!reply.ok) return reply;
    }
    return reply;
  }

  private async register(message: unknown): Promise<string> {
    const challenge = parse(challengeMessageSchema, message, 'challenge');
    if (challenge.protocolVersion !== PROTOCOL_VERSION) {
      throw new Error(`The coordinator speaks protocol version ${challenge.protocolVersion}; this client speaks ${PROTOCOL_VERSION}.`);
    }
    const coordinatorKeys = { signingPublicKey: challenge.coordinatorSigningKey, boxPublicKey: challenge.coordinatorBoxKey };
    const fingerprint = fingerprintOf(coordinatorKeys);
    if (this.options.coordinatorFingerprint && fingerprint !== this.options.coordinatorFingerprint) {
      this.socket?.close();
      throw new Error(
        `The coordinator at ${this.options.url} has key fingerprint ${fingerprint}, not the pinned ` +
          `${this.options.coordinatorFingerprint}. Check the address, or pin the new fingerprint if the keys were rotated.`,
      );
    }
    this.sharedKey = nacl.box.before(challenge.coordinatorBoxKey, this.options.identity.box.secretKey);

    const reply = parse(
      registerReplySchema,
      await this.socket!.timeout(60_000).emitWithAck('session:register', {
        protocolVersion: PROTOCOL_VERSION,
        signingPublicKey: this.options.identity.signing.publicKey,
        boxPublicKey: this.options.identity.box.publicKey,
        signature: signRegistration(this.options.identity, challenge.challenge),
        exampleCount: this.options.learner.exampleCount,
        enrollmentToken: this.options.enrollmentToken,
      }),
      'registration reply',
    );
    if (!reply.ok) {
      this.socket?.close();
      throw new Error(`Registration rejected (${reply.reason}): ${reply.error}`);
    }

    this.clientId = reply.clientId;
    // After a restart this client's own count starts again, but the coordinator rejects any sequence number it has seen.
    this.sequence = Math.max(this.sequence, reply.lastSequence);
    this.maxMessageBytes = reply.federation.maxMessageBytes;
    this.itemCount = reply.federation.itemIds.length;
    this.codecs = this.acceptFederation(reply.federation);
    this.sendRoundMetrics = reply.federation.roundMetrics;
    if (!this.prepared) {
      await this.options.learner.prepare(reply.federation.itemIds);
      await this.restoreCheckpoint(reply.federation.federationId);
      this.prepared = true;
    }
    this.logger.info({ clientId: reply.clientId, rounds: reply.federation.rounds }, 'registered');
    this.emit('registered', { clientId: reply.clientId, rounds: reply.federation.rounds });
    return reply.clientId;
  }

  /**
   * Restores the learner from its checkpoint when one exists for this federation. A checkpoint
   * written in another federation is left out, since its students learned from other teachers.
   */
  private async restoreCheckpoint(federationId: string): Promise<void> {
    const { checkpointFile, learner } = this.options;
    this.federationId = federationId;
    if (!checkpointFile) return;
    if (!learner.checkpoint || !learner.restoreCheckpoint) {
      this.logger.warn({ exchange: learner.exchange }, 'this learner cannot write checkpoints; it starts afresh after every restart');
      return;
    }
    if (!existsSync(checkpointFile)) return;

    const writtenFor = existsSync(`${checkpointFile}.federation`) ? (await readFile(`${checkpointFile}.federation`, 'utf8')).trim() : null;
    if (writtenFor !== federationId) {
      this.logger.warn(
        { checkpointFile, checkpointFederation: writtenFor, federationId },
        'the checkpoint was written in another federation; the learner starts afresh and the checkpoint will be replaced',
      );
      return;
    }
    await learner.restoreCheckpoint(checkpointFile);
    this.logger.info({ checkpointFile, federationId }, 'learner restored from its checkpoint');
  }

  /** Writes the learner's checkpoint and, beside it, the id of the federation it belongs to. */
  private async writeCheckpoint(): Promise<void> {
    const { checkpointFile, learner } = this.options;
    if (!checkpointFile || !learner.checkpoint) return;
    await learner.checkpoint(checkpointFile);
    await writeFile(`${checkpointFile}.federation`, `${this.federationId}\n`);
  }

  /** Checks that this client can take part in the federation, and builds its codecs. */
  private acceptFederation(federation: FederationSettings): { upload: LogitCodec; teacher: LogitCodec } {
    const learner = this.options.learner;
    if (federation.exchange !== learner.exchange) {
      throw new Error(
        `The coordinator at ${this.options.url} runs a federation that exchanges ${federation.exchange}, ` +
          `but this client's learner exchanges ${learner.exchange}. Choose the algorithm the coordinator runs.`,
      );
    }
    try {
      return { upload: codecFromSpec(federation.uploadCodec), teacher: codecFromSpec(federation.teacherCodec) };
    } catch (error) {
      throw new Error(`The coordinator asks for a codec this client does not know: ${(error as Error).message} Update the client.`);
    }
  }

  private async onTask(message: unknown): Promise<void> {
    const task = parse(roundTaskMessageSchema, message, 'round task');
    // The coordinator sends a task right after its registration reply, while the learner may still be preparing.
    await this.session;
    this.emit('round-started', { roundId: task.roundId });

    if (this.taught.has(task.roundId)) return;
    const cached = this.lastAnswer?.roundId === task.roundId ? this.lastAnswer.payload : null;
    if (cached !== null) this.logger.info({ roundId: task.roundId }, 'task sent again after a reconnection; uploading the same answer');
    const payload = cached ?? (await this.answerTask(task.roundId, task.transferSet));
    this.lastAnswer = { roundId: task.roundId, payload };

    const reply = await this.sendWhenRegistered('round:upload', task.roundId, payload, task.deadline);
    // A duplicate means an earlier send of this upload was accepted, and only its reply was lost.
    if (!reply.ok && reply.reason !== 'duplicate') {
      this.logger.warn({ roundId: task.roundId, reason: reply.reason, err: reply.error }, 'upload rejected');
      return;
    }
    this.emit('round-uploaded', { roundId: task.roundId });
  }

  /** Trains for the round and returns the plaintext of the upload, encoded with the run's codec. */
  private async answerTask(roundId: number, frames: RoundTaskMessage['transferSet']): Promise<Uint8Array> {
    const learner = this.options.learner;
    const codec = this.codecs!.upload;
    this.answered.add(roundId);

    switch (learner.exchange) {
      case 'logits': {
        if (frames === undefined) throw new Error(`The task of round ${roundId} has no transfer set to score.`);
        const transferSet = transferSetFromFrames(roundId, frames);
        validateTransferSet(transferSet, this.itemCount);
        this.transferSets.set(roundId, transferSet);
        return encodeLogitUpload(await learner.answerRound(transferSet), codec);
      }

      case 'parameters': {
        const parameters = await learner.localUpdate(roundId);
        return encodeMatrixFrame(parameters, { rows: 1, columns: parameters.length }, codec);
      }

      case 'item-patterns': {
        const patterns = await learner.itemPatterns();
        return encodeMatrixFrame(patterns.values, patterns.shape, codec);
      }
    }
  }

  private async onTeacher(message: unknown): Promise<void> {
    const teacher = parse(teacherMessageSchema, message, 'teacher');
    if (this.taught.has(teacher.roundId)) {
      this.logger.debug({ roundId: teacher.roundId }, 'teacher sent again after a reconnection; already learned from it');
      return;
    }
    const answered = this.answered.delete(teacher.roundId);
    if (!answered && teacher.transferSet === undefined && this.options.learner.exchange === 'logits') {
      this.logger.warn({ roundId: teacher.roundId }, 'teacher for a round this client did not answer; ignored');
      return;
    }
    // A closing teacher of a round this client missed carries that round's transfer set.
    if (!answered && teacher.transferSet !== undefined) {
      const transferSet = transferSetFromFrames(teacher.roundId, teacher.transferSet);
      validateTransferSet(transferSet, this.itemCount);
      this.transferSets.set(teacher.roundId, transferSet);
    }

    const roundKey = unboxRoundKey(teacher.roundId, teacher.roundKey, this.sharedKey!);
    const payload = openTeacher({ roundId: teacher.roundId, ciphertext: teacher.teacher }, roundKey);
    const learner = this.options.learner;
    const codec = this.codecs!.teacher;

    switch (learner.exchange) {
      case 'logits': {
        const transferSet = this.transferSets.get(teacher.roundId)!;
        this.transferSets.delete(teacher.roundId);
        const shape = { probes: transferSet.probeOffsets.length - 1, candidates: transferSet.candidates.length };
        await learner.receiveTeacher(transferSet, codec.decode(payload, shape));
        break;
      }

      case 'parameters': {
        const { values } = decodeMatrixFrame(payload, codec, { maxValues: Number.MAX_SAFE_INTEGER });
        await learner.receiveGlobalParameters(teacher.roundId, values);
        break;
      }

      case 'item-patterns': {
        const { values, shape } = decodeMatrixFrame(payload, codec, { columns: this.itemCount, maxValues: Number.MAX_SAFE_INTEGER });
        await learner.receiveGlobalPatterns(values, shape);
        break;
      }
    }
    this.taught.add(teacher.roundId);
    await this.writeCheckpoint();
    if (this.lastAnswer?.roundId === teacher.roundId) this.lastAnswer = null;
    this.emit('teacher-received', { roundId: teacher.roundId });
    if (answered && this.sendRoundMetrics && learner.evaluateRound) await this.reportRoundMetrics(teacher.roundId, await learner.evaluateRound());
  }

  /** Sends the round's metric sums; a rejection is logged, since the federation goes on without them. */
  private async reportRoundMetrics(roundId: number, metrics: RoundMetrics): Promise<void> {
    const payload = new TextEncoder().encode(JSON.stringify(metrics));
    const reply = await this.sendWhenRegistered('round:metrics', roundId, payload, Date.now() + 60_000);
    if (!reply.ok) this.logger.warn({ roundId, reason: reply.reason, err: reply.error }, 'round metrics rejected');
  }

  private async onComplete(message: unknown): Promise<void> {
    const complete = parse(federationCompleteMessageSchema, message, 'completion notice');
    if (this.report === null) {
      const evaluation = await this.options.learner.finish();
      this.report = { ...evaluation, bytesSent: this.bytesSent, bytesReceived: this.bytesReceived };
    }
    const report = this.report;

    const payload = new TextEncoder().encode(JSON.stringify(report));
    const reply = await this.sendWhenRegistered('evaluation:report', complete.lastRoundId, payload, Date.now() + 600_000);
    if (!reply.ok) throw new Error(`Evaluation report rejected (${reply.reason}): ${reply.error}`);

    this.logger.info({ clientId: this.clientId }, 'evaluation report accepted');
    this.emit('finished', report);
    this.completion?.resolve(report);
  }

  /**
   * Counts the bytes of every engine.io message packet, both ways, on each (re)connection:
   * socket.io events with their binary attachments. Heartbeats are left out so that the count
   * does not depend on how long the run took.
   */
  private countBytes(socket: FederationSocket): void {
    const size = (packet: { type?: string; data?: unknown }): number => {
      if (packet.type !== 'message') return 0;
      if (typeof packet.data === 'string') return Buffer.byteLength(packet.data);
      if (packet.data instanceof ArrayBuffer || ArrayBuffer.isView(packet.data)) return packet.data.byteLength;
      return 0;
    };
    socket.io.on('open', () => {
      socket.io.engine.on('packetCreate', (packet: { type?: string; data?: unknown }) => (this.bytesSent += size(packet)));
      socket.io.engine.on('packet', (packet: { type?: string; data?: unknown }) => (this.bytesReceived += size(packet)));
    });
  }
}

function parse<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } }, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`Invalid ${what} from the coordinator: ${describeSchemaError(parsed.error)}.`);
  return parsed.data;
}

/**
 * Returns the underlying reason of a failed connection attempt, such as a rejected TLS certificate,
 * which socket.io-client keeps in the error's `description` for the websocket transport.
 */
function connectionFailureCause(error: Error & { description?: unknown }): string | undefined {
  const description = error.description as { message?: string; error?: { message?: string } } | undefined;
  return description?.error?.message ?? description?.message;
}
