// A federation client: connects to a coordinator over socket.io, registers with a signed
// challenge, answers each round with encrypted logits, decrypts the teachers, and sends an
// encrypted evaluation report at the end. Learning is delegated to a FederatedLearner.
import { EventEmitter } from 'node:events';

import {
  type ClientToServerEvents,
  type EvaluationReport,
  type Identity,
  type ServerToClientEvents,
  type TransferSet,
  type UploadReply,
  PROTOCOL_VERSION,
  challengeMessageSchema,
  describeSchemaError,
  encodeLogitUpload,
  federationCompleteMessageSchema,
  float32ArrayFrom,
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
  /** Messages are handled one at a time, in arrival order. */
  private work: Promise<void> = Promise.resolve();
  private prepared = false;
  private failure: Error | null = null;
  private itemCount = 0;
  private completion: { resolve: (report: EvaluationReport) => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: FederationClientOptions) {
    super();
    this.logger = (options.logger ?? pino({ level: 'info' })).child({ component: 'client' });
  }

  /** Connects and registers; resolves with the client id. */
  connect(): Promise<string> {
    const socket: FederationSocket = io(this.options.url, {
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
    });
    this.socket = socket;
    this.countBytes(socket);

    return new Promise<string>((resolve, reject) => {
      socket.on('session:challenge', (message) =>
        this.enqueue(async () => {
          const clientId = await this.register(message);
          resolve(clientId);
        }, reject),
      );
      socket.on('round:task', (message) => this.enqueue(() => this.onTask(message)));
      socket.on('round:teacher', (message) => this.enqueue(async () => this.onTeacher(message)));
      socket.on('federation:complete', (message) => this.enqueue(() => this.onComplete(message)));
      let failedAttempts = 0;
      socket.on('connect_error', (error) => {
        failedAttempts += 1;
        this.logger.warn(
          { url: this.options.url, attempt: failedAttempts, err: error.message },
          'failed to connect to the coordinator, retrying with backoff (check the URL if this repeats)',
        );
      });
      socket.on('connect', () => {
        failedAttempts = 0;
      });
      socket.on('disconnect', (reason) => {
        // 'io client disconnect' is this client closing the socket itself, as it does when it finishes.
        if (reason === 'io client disconnect') this.logger.info({ reason }, 'disconnected from coordinator');
        else this.logger.warn({ reason }, 'disconnected from coordinator');
      });
    });
  }

  /** Resolves with the report once the coordinator has accepted it. */
  finished(): Promise<EvaluationReport> {
    return new Promise((resolve, reject) => (this.completion = { resolve, reject }));
  }

  close(): void {
    this.socket?.close();
  }

  private enqueue(task: () => Promise<void>, onError?: (error: Error) => void): void {
    // After a failure the client stops, so messages still queued behind it are dropped.
    this.work = this.work.then(() => (this.failure === null ? task() : undefined)).catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.failure = failure;
      this.logger.error({ err: failure.message }, 'client task failed');
      onError?.(failure);
      this.completion?.reject(failure);
      this.emit('error', failure);
    });
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
      }),
      'registration reply',
    );
    if (!reply.ok) throw new Error(`Registration rejected: ${reply.error}`);

    this.clientId = reply.clientId;
    this.itemCount = reply.federation.itemIds.length;
    if (!this.prepared) {
      await this.options.learner.prepare(reply.federation.itemIds);
      this.prepared = true;
    }
    this.logger.info({ clientId: reply.clientId, rounds: reply.federation.rounds }, 'registered');
    this.emit('registered', { clientId: reply.clientId, rounds: reply.federation.rounds });
    return reply.clientId;
  }

  private async onTask(message: unknown): Promise<void> {
    const task = parse(roundTaskMessageSchema, message, 'round task');
    const transferSet = transferSetFromFrames(task.roundId, task);
    if (!this.prepared) throw new Error(`The task of round ${task.roundId} arrived before registration completed.`);
    validateTransferSet(transferSet, this.itemCount);
    this.transferSets.set(task.roundId, transferSet);
    this.emit('round-started', { roundId: task.roundId });

    const upload = await this.options.learner.answerRound(transferSet);
    const sealed = sealUpload(
      { roundId: task.roundId, clientId: this.clientId!, sequence: ++this.sequence },
      encodeLogitUpload(upload),
      this.sharedKey!,
    );
    const reply = (await this.socket!.timeout(60_000).emitWithAck('round:upload', {
      protocolVersion: PROTOCOL_VERSION,
      roundId: task.roundId,
      upload: sealed,
    })) as UploadReply;
    if (!reply.ok) {
      this.logger.warn({ roundId: task.roundId, reason: reply.reason, err: reply.error }, 'upload rejected');
      return;
    }
    this.emit('round-uploaded', { roundId: task.roundId });
  }

  private onTeacher(message: unknown): void {
    const teacher = parse(teacherMessageSchema, message, 'teacher');
    const transferSet = this.transferSets.get(teacher.roundId);
    if (transferSet === undefined) {
      this.logger.warn({ roundId: teacher.roundId }, 'teacher for a round this client did not answer; ignored');
      return;
    }
    this.transferSets.delete(teacher.roundId);

    const roundKey = unboxRoundKey(teacher.roundId, teacher.roundKey, this.sharedKey!);
    const payload = openTeacher({ roundId: teacher.roundId, ciphertext: teacher.teacher }, roundKey);
    const logits = float32ArrayFrom(payload, 'teacher logits');
    const expected = (transferSet.probeOffsets.length - 1) * transferSet.candidates.length;
    if (logits.length !== expected) {
      throw new Error(`Teacher of round ${teacher.roundId} has ${logits.length} logits; expected ${expected}.`);
    }
    this.options.learner.receiveTeacher(transferSet, logits);
    this.emit('teacher-received', { roundId: teacher.roundId });
  }

  private async onComplete(message: unknown): Promise<void> {
    const complete = parse(federationCompleteMessageSchema, message, 'completion notice');
    const evaluation = await this.options.learner.finish();
    const report: EvaluationReport = { ...evaluation, bytesSent: this.bytesSent, bytesReceived: this.bytesReceived };

    const sealed = sealUpload(
      { roundId: complete.lastRoundId, clientId: this.clientId!, sequence: ++this.sequence },
      new TextEncoder().encode(JSON.stringify(report)),
      this.sharedKey!,
    );
    const reply = (await this.socket!.timeout(60_000).emitWithAck('evaluation:report', {
      protocolVersion: PROTOCOL_VERSION,
      roundId: complete.lastRoundId,
      upload: sealed,
    })) as UploadReply;
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
