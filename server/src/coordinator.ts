// The coordinator: an express + socket.io server that registers clients, runs the rounds of
// federated distillation, and collects the clients' evaluation reports. It never sees raw
// interactions: only encrypted logits on the transfer set, evidence counts and metric sums.
import { EventEmitter } from 'node:events';
import { type Server as HttpServer, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  type ClientToServerEvents,
  type EvaluationReport,
  type EvaluationSums,
  type Identity,
  type LogitCodec,
  type RegisterReply,
  type RejectionReason,
  type ServerToClientEvents,
  type UploadReply,
  PROTOCOL_VERSION,
  boxRoundKey,
  clientIdFor,
  codecFromSpec,
  createRandom,
  createIdentity,
  createRoundKey,
  emptyEvaluationSums,
  encodeMatrixFrame,
  fingerprintOf,
  mergeMetricSums,
  publicIdentity,
  sampleWithoutReplacement,
  sealTeacher,
  transferSetToFrames,
  verifyRegistration,
} from '@distillate/shared';
import express from 'express';
import pino, { type Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import nacl from 'tweetnacl';

import { type AggregationStrategy, averageParameters, createAggregationStrategy, jointItemPatterns } from './aggregation/index.js';
import { ClientRegistry, type RegisteredClient } from './client-registry.js';
import { type CoordinatorConfig, resolveCoordinatorConfig } from './coordinator-config.js';
import { FederationRound, type RoundSummary, type RoundUpload } from './federation-round.js';
import { mountHttpApi } from './http-api.js';
import {
  MessageRejection,
  type UploadFormat,
  checkEvaluationReport,
  checkRegistration,
  checkRoundMetrics,
  checkUpload,
} from './message-checks.js';
import { TransferSetSampler } from './transfer-set-sampler.js';

export type FederationState = 'waiting-for-clients' | 'running' | 'reporting' | 'finished' | 'stopped';

export interface FederationResults {
  rounds: RoundSummary[];
  /** Reports by client id. */
  reports: Record<string, EvaluationReport>;
  /** Test metric sums over every reporting client's users. */
  test: EvaluationSums;
}

export interface CoordinatorEvents {
  'client-registered': [{ clientId: string; registered: number }];
  'round-opened': [{ roundId: number; participants: number; probes: number; candidates: number }];
  'upload-accepted': [{ roundId: number; clientId: string; uploads: number; participants: number }];
  'upload-rejected': [{ roundId: number | null; clientId: string | null; reason: RejectionReason; message: string }];
  'round-closed': [RoundSummary];
  'report-received': [{ clientId: string; reports: number }];
  'federation-finished': [FederationResults];
}

type FederationSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: CoordinatorConfig;
  readonly identity: Identity;
  readonly fingerprint: string;
  readonly logger: Logger;

  private readonly registry = new ClientRegistry();
  private readonly challenges = new Map<string, Uint8Array>();
  private readonly sampler: TransferSetSampler;
  private readonly aggregation: AggregationStrategy;
  private readonly uploadFormat: UploadFormat;
  private readonly teacherCodec: LogitCodec;
  private readonly rounds: FederationRound[] = [];
  private readonly reports = new Map<string, EvaluationReport>();
  private state: FederationState = 'waiting-for-clients';
  private httpServer: HttpServer | null = null;
  private io: Server<ClientToServerEvents, ServerToClientEvents> | null = null;
  private clientsReady: (() => void) | null = null;
  private reportsReady: (() => void) | null = null;
  private reportsExpected = new Set<string>();
  private finished: Promise<FederationResults> | null = null;

  constructor(config: Partial<CoordinatorConfig> & Pick<CoordinatorConfig, 'itemIds'>) {
    super();
    this.config = resolveCoordinatorConfig(config);
    this.identity = this.config.identity ?? createIdentity();
    this.fingerprint = fingerprintOf(publicIdentity(this.identity));
    this.logger = (this.config.logger ?? pino({ level: 'info' })).child({ component: 'coordinator' });
    this.sampler = new TransferSetSampler({
      itemCount: this.config.itemIds.length,
      probesPerRound: this.config.probesPerRound,
      candidatesPerRound: this.config.candidatesPerRound,
      uniformShare: this.config.uniformShare,
      popularityExponent: this.config.popularityExponent,
      publicProbes: this.config.publicProbes.map((context) => Int32Array.from(context)),
      publicProbeShare: this.config.publicProbeShare,
      maxProbes: (candidates) => this.probesWithinBudget(candidates),
      seed: this.config.seed,
    });
    this.aggregation = createAggregationStrategy(this.config.aggregation, this.config.aggregationParameters);
    this.uploadFormat = {
      exchange: this.config.exchange,
      codec: codecFromSpec(this.config.uploadCodec),
      itemCount: this.config.itemIds.length,
      // Any float32, float16 or int8 matrix that fits in a message has at most this many values.
      maxMatrixValues: this.config.maxMessageBytes,
    };
    this.teacherCodec = codecFromSpec(this.config.teacherCodec);
  }

  /** Most probes whose logits for `candidates` candidates fit the upload byte budget in the upload codec. */
  private probesWithinBudget(candidates: number): number {
    const budget = this.config.uploadByteBudget;
    if (budget === null) return this.config.probesPerRound;
    let probes = this.config.probesPerRound;
    while (probes > 1 && this.uploadFormat.codec.encodedBytes({ probes, candidates }) > budget) probes -= 1;
    return probes;
  }

  /** Starts listening and running the federation; returns the URL clients connect to. */
  async start(): Promise<string> {
    const app = express();
    mountHttpApi(app, this);
    this.httpServer = createServer(app);
    this.io = new Server(this.httpServer, {
      transports: ['websocket'],
      maxHttpBufferSize: this.config.maxMessageBytes,
      // Clients may compute for a while between messages; give their heartbeats room.
      pingTimeout: 60_000,
    });
    this.io.on('connection', (socket) => this.onConnection(socket));

    await new Promise<void>((resolve, reject) => {
      this.httpServer!.once('error', reject);
      this.httpServer!.listen(this.config.port, this.config.host, () => resolve());
    });

    this.finished = this.runFederation();
    this.finished.catch((error: unknown) => this.logger.error({ err: error }, 'federation failed'));
    this.logger.info({ url: this.url, fingerprint: this.fingerprint }, 'coordinator listening');
    return this.url;
  }

  get url(): string {
    const address = this.httpServer?.address() as AddressInfo | null;
    if (!address) throw new Error('The coordinator is not listening; call start() first.');
    return `http://${this.config.host}:${address.port}`;
  }

  /** Resolves with the results once every round has run and the reports are in. */
  results(): Promise<FederationResults> {
    if (this.finished === null) throw new Error('The coordinator has not started; call start() first.');
    return this.finished;
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.rounds.at(-1)?.abort();
    this.clientsReady?.();
    this.reportsReady?.();
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
    this.httpServer?.closeAllConnections();
    this.logger.info('coordinator stopped');
  }

  status(): {
    state: FederationState;
    fingerprint: string;
    round: RoundSummary | null;
    roundsCompleted: number;
    roundsPlanned: number;
    clientsRegistered: number;
    clientsConnected: number;
    reports: number;
  } {
    return {
      state: this.state,
      fingerprint: this.fingerprint,
      round: this.rounds.at(-1)?.summary() ?? null,
      roundsCompleted: this.rounds.filter((round) => round.state === 'closed').length,
      roundsPlanned: this.config.rounds,
      clientsRegistered: this.registry.all().length,
      clientsConnected: this.registry.connected().length,
      reports: this.reports.size,
    };
  }

  roundSummaries(): RoundSummary[] {
    return this.rounds.map((round) => round.summary());
  }

  private async runFederation(): Promise<FederationResults> {
    await new Promise<void>((resolve) => {
      this.clientsReady = resolve;
      this.checkClientsReady();
    });

    this.state = 'running';
    for (let roundId = 1; roundId <= this.config.rounds && this.isRunning(); roundId++) {
      await this.runRound(roundId);
    }
    if (!this.isRunning()) return this.collectResults();

    this.state = 'reporting';
    const lastRound = this.rounds.filter((round) => round.failure === null).at(-1);
    const lastRoundId = lastRound?.roundId ?? 0;
    if (lastRound) this.sendClosingTeacher(lastRound);
    const reportsDue = new Promise<void>((resolve) => (this.reportsReady = resolve));
    // Every client that took part, and every connected one, evaluates: with sampled rounds, some clients never took part.
    this.reportsExpected = new Set([...this.rounds.flatMap((round) => [...round.participants]), ...this.registry.connected().map((client) => client.clientId)]);
    this.io!.emit('federation:complete', { protocolVersion: PROTOCOL_VERSION, lastRoundId });
    this.checkReportsReady();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([reportsDue, new Promise((resolve) => (timer = setTimeout(resolve, this.config.reportTimeoutMs)))]);
    clearTimeout(timer);

    this.state = 'finished';
    const results = this.collectResults();
    this.logger.info({ reports: this.reports.size, rounds: this.rounds.length }, 'federation finished');
    this.emit('federation-finished', results);
    return results;
  }

  private isRunning(): boolean {
    return this.state === 'running';
  }

  private async runRound(roundId: number): Promise<void> {
    const transferSet = this.config.exchange === 'logits' ? this.sampler.sample(roundId) : null;
    const participants = this.chooseParticipants(roundId);
    const round = new FederationRound(
      roundId,
      transferSet,
      new Set(participants.map((client) => client.clientId)),
      Date.now() + this.config.roundTimeoutMs,
    );
    this.rounds.push(round);

    round.state = 'collecting';
    const frames = transferSet ? transferSetToFrames(transferSet) : undefined;
    for (const client of participants) {
      this.io!.to(client.socketId!).emit('round:task', {
        protocolVersion: PROTOCOL_VERSION,
        roundId,
        deadline: round.deadline,
        transferSet: frames,
      });
    }
    this.logger.info({ roundId, participants: participants.length, probes: round.probes, candidates: round.candidates }, 'round opened');
    this.emit('round-opened', { roundId, participants: participants.length, probes: round.probes, candidates: round.candidates });

    await round.waitForUploads();
    if (!this.isRunning()) return;

    if (round.uploads.size === 0) {
      round.failure = 'no client uploaded before the deadline';
      round.state = 'closed';
      round.closedAt = Date.now();
      this.logger.warn({ roundId }, 'round closed without uploads');
      this.emit('round-closed', round.summary());
      return;
    }

    round.state = 'aggregating';
    const started = performance.now();
    const payload = this.aggregate(round);
    round.aggregationMs = performance.now() - started;

    round.state = 'distributing';
    const roundKey = createRoundKey();
    const sealed = sealTeacher(roundId, payload, roundKey);
    round.teacherBytes = sealed.ciphertext.byteLength;
    round.sealedTeacher = { ciphertext: sealed.ciphertext, roundKey };
    for (const clientId of round.participants) {
      const client = this.registry.get(clientId);
      if (!client?.socketId) continue;
      this.io!.to(client.socketId).emit('round:teacher', {
        protocolVersion: PROTOCOL_VERSION,
        roundId,
        teacher: sealed.ciphertext,
        roundKey: boxRoundKey(roundId, roundKey, client.sharedKey),
      });
    }

    round.state = 'closed';
    round.closedAt = Date.now();
    this.logger.info(
      { roundId, uploads: round.uploads.size, aggregationMs: Math.round(round.aggregationMs), teacherBytes: round.teacherBytes },
      'round closed',
    );
    this.emit('round-closed', round.summary());
  }

  /**
   * Sends the last round's teacher, with its transfer set, to the connected clients that did not
   * take part in that round. With sampled rounds, some clients would otherwise be evaluated
   * without anything learned from the federation.
   */
  private sendClosingTeacher(round: FederationRound): void {
    if (round.sealedTeacher === null) return;
    const frames = round.transferSet ? transferSetToFrames(round.transferSet) : undefined;
    let sent = 0;
    for (const client of this.registry.connected()) {
      if (round.participants.has(client.clientId)) continue;
      this.io!.to(client.socketId!).emit('round:teacher', {
        protocolVersion: PROTOCOL_VERSION,
        roundId: round.roundId,
        teacher: round.sealedTeacher.ciphertext,
        roundKey: boxRoundKey(round.roundId, round.sealedTeacher.roundKey, client.sharedKey),
        transferSet: frames,
      });
      sent += 1;
    }
    if (sent > 0) this.logger.info({ roundId: round.roundId, clients: sent }, 'closing teacher sent to clients that missed the last round');
  }

  /** Chooses the connected clients that take part in a round: all, a seeded sample, or the scheduled cohort. */
  private chooseParticipants(roundId: number): RegisteredClient[] {
    const connected = this.registry.connected().sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
    const { clientsPerRound, roundCohorts } = this.config;
    if (roundCohorts !== null) {
      const cohort = new Set(roundCohorts[(roundId - 1) % roundCohorts.length]);
      return connected.filter((client) => cohort.has(client.clientId));
    }
    if (clientsPerRound === null || clientsPerRound >= connected.length) return connected;
    const chosen = sampleWithoutReplacement(connected.length, clientsPerRound, createRandom(this.config.seed, 'participants', roundId));
    return Array.from(chosen, (index) => connected[index]);
  }

  /** Turns the round's uploads into the payload sent back: teacher logits, averaged parameters or global patterns. */
  private aggregate(round: FederationRound): Uint8Array {
    // Aggregate in client-id order, so float sums do not depend on the order uploads arrived in.
    const uploads = [...round.uploads].sort(([a], [b]) => (a < b ? -1 : 1));
    const exampleCount = (clientId: string) => this.registry.get(clientId)?.exampleCount ?? 0;
    const logitUploads = uploads.flatMap(([clientId, upload]) => (upload.kind === 'logits' ? [{ clientId, ...upload }] : []));
    const matrixUploads = uploads.flatMap(([clientId, upload]) => (upload.kind === 'matrix' ? [{ clientId, ...upload }] : []));

    switch (this.config.exchange) {
      case 'logits': {
        const shape = { probes: round.probes, candidates: round.candidates };
        const inputs = logitUploads.map((upload) => ({ ...upload, exampleCount: exampleCount(upload.clientId) }));
        const teacher = this.aggregation.aggregate(inputs, shape);
        this.sampler.observeEvidence(round.transferSet!, candidateEvidence(logitUploads, round.candidates));
        return this.teacherCodec.encode(teacher, shape);
      }

      case 'parameters': {
        const inputs = matrixUploads.map((upload) => ({ ...upload, exampleCount: exampleCount(upload.clientId) }));
        const average = averageParameters(inputs);
        return encodeMatrixFrame(average, { rows: 1, columns: average.length }, this.teacherCodec);
      }

      case 'item-patterns': {
        const patterns = jointItemPatterns(
          matrixUploads.map((upload) => ({ clientId: upload.clientId, values: upload.values, rows: upload.shape.rows })),
          this.config.itemIds.length,
          { rank: this.config.globalPatterns, seed: this.config.seed },
        );
        return encodeMatrixFrame(patterns.values, patterns.shape, this.teacherCodec);
      }
    }
  }

  private onConnection(socket: FederationSocket): void {
    const challenge = nacl.randomBytes(32);
    this.challenges.set(socket.id, challenge);
    socket.emit('session:challenge', {
      protocolVersion: PROTOCOL_VERSION,
      challenge,
      coordinatorSigningKey: this.identity.signing.publicKey,
      coordinatorBoxKey: this.identity.box.publicKey,
    });

    socket.on('session:register', (message, reply) => this.onRegister(socket, message, reply));
    socket.on('round:upload', (message, reply) => this.onUpload(socket, message, reply));
    socket.on('evaluation:report', (message, reply) => this.onReport(socket, message, reply));
    socket.on('round:metrics', (message, reply) => this.onRoundMetrics(socket, message, reply));
    socket.on('disconnect', (reason) => {
      this.challenges.delete(socket.id);
      const client = this.registry.disconnect(socket.id);
      if (client) this.logger.info({ clientId: client.clientId, reason }, 'client disconnected');
    });
  }

  private onRegister(socket: FederationSocket, message: unknown, reply: unknown): void {
    if (typeof reply !== 'function') return;
    const respond = reply as (answer: RegisterReply) => void;
    try {
      const request = checkRegistration(message);
      const challenge = this.challenges.get(socket.id);
      const keys = { signingPublicKey: request.signingPublicKey, boxPublicKey: request.boxPublicKey };
      if (!challenge || !verifyRegistration(challenge, keys, request.signature)) {
        throw new MessageRejection('invalid-message', 'The registration signature does not verify against the challenge of this connection. Reconnect and sign the new challenge.');
      }
      this.challenges.delete(socket.id);

      const clientId = clientIdFor(request.signingPublicKey);
      this.registry.register(clientId, keys, request.exampleCount, socket.id, this.identity.box.secretKey);
      const registered = this.registry.all().length;
      this.logger.info({ clientId, registered }, 'client registered');
      const { rounds, itemIds, exchange, uploadCodec, teacherCodec, roundMetrics } = this.config;
      respond({ ok: true, clientId, federation: { rounds, itemIds, exchange, uploadCodec, teacherCodec, roundMetrics } });
      this.emit('client-registered', { clientId, registered });
      this.checkClientsReady();
    } catch (error) {
      const rejection = MessageRejection.from(error);
      this.logger.warn({ socketId: socket.id, reason: rejection.reason, err: rejection.message }, 'registration rejected');
      respond({ ok: false, error: rejection.message });
    }
  }

  private onUpload(socket: FederationSocket, message: unknown, reply: unknown): void {
    if (typeof reply !== 'function') return;
    const respond = reply as (answer: UploadReply) => void;
    const client = this.registry.bySocket(socket.id);
    const round = this.rounds.at(-1) ?? null;
    try {
      const { upload, sequence, bytes } = checkUpload(message, client, round, this.uploadFormat);
      client!.lastSequence = sequence;
      client!.bytesReceived += bytes;
      round!.acceptUpload(client!.clientId, upload, bytes);
      respond({ ok: true });
      this.emit('upload-accepted', {
        roundId: round!.roundId,
        clientId: client!.clientId,
        uploads: round!.uploads.size,
        participants: round!.participants.size,
      });
    } catch (error) {
      const rejection = MessageRejection.from(error);
      if (round) round.rejectedUploads += 1;
      const clientId = client?.clientId ?? null;
      this.logger.warn({ clientId, roundId: round?.roundId ?? null, reason: rejection.reason, err: rejection.message }, 'upload rejected');
      respond({ ok: false, reason: rejection.reason, error: rejection.message });
      this.emit('upload-rejected', { roundId: round?.roundId ?? null, clientId, reason: rejection.reason, message: rejection.message });
    }
  }

  private onReport(socket: FederationSocket, message: unknown, reply: unknown): void {
    if (typeof reply !== 'function') return;
    const respond = reply as (answer: UploadReply) => void;
    const client = this.registry.bySocket(socket.id);
    try {
      if (this.state !== 'reporting') {
        throw new MessageRejection('stale-round', `Reports are accepted after the last round; the federation is ${this.state}.`);
      }
      const { report, sequence } = checkEvaluationReport(message, client);
      client!.lastSequence = sequence;
      this.reports.set(client!.clientId, report);
      respond({ ok: true });
      this.logger.info({ clientId: client!.clientId, reports: this.reports.size }, 'evaluation report received');
      this.emit('report-received', { clientId: client!.clientId, reports: this.reports.size });
      this.checkReportsReady();
    } catch (error) {
      const rejection = MessageRejection.from(error);
      this.logger.warn({ clientId: client?.clientId ?? null, reason: rejection.reason, err: rejection.message }, 'report rejected');
      respond({ ok: false, reason: rejection.reason, error: rejection.message });
    }
  }

  private onRoundMetrics(socket: FederationSocket, message: unknown, reply: unknown): void {
    if (typeof reply !== 'function') return;
    const respond = reply as (answer: UploadReply) => void;
    const client = this.registry.bySocket(socket.id);
    try {
      if (!this.config.roundMetrics) {
        throw new MessageRejection('invalid-message', 'This coordinator does not collect round metrics; its roundMetrics setting is off.');
      }
      const { metrics, round, sequence } = checkRoundMetrics(message, client, this.rounds);
      client!.lastSequence = sequence;
      round.metrics.set(client!.clientId, metrics);
      respond({ ok: true });
    } catch (error) {
      const rejection = MessageRejection.from(error);
      this.logger.warn({ clientId: client?.clientId ?? null, reason: rejection.reason, err: rejection.message }, 'round metrics rejected');
      respond({ ok: false, reason: rejection.reason, error: rejection.message });
    }
  }

  private checkClientsReady(): void {
    if (this.registry.connected().length >= this.config.minClients) this.clientsReady?.();
  }

  private checkReportsReady(): void {
    if ([...this.reportsExpected].every((clientId) => this.reports.has(clientId))) this.reportsReady?.();
  }

  private collectResults(): FederationResults {
    // Reports arrive in any order. Adding them in client id order makes the floating-point sums,
    // and so the results, the same in every run.
    const clientIds = [...this.reports.keys()].sort();
    const test = emptyEvaluationSums();
    for (const clientId of clientIds) {
      const report = this.reports.get(clientId)!;
      mergeMetricSums(test.full, report.test.full);
      mergeMetricSums(test.sampled, report.test.sampled);
    }
    const reports = Object.fromEntries(clientIds.map((clientId) => [clientId, this.reports.get(clientId)!]));
    return { rounds: this.roundSummaries(), reports, test };
  }
}

/** Per candidate, the interactions all uploading clients hold with it: the popularity evidence of the round. */
function candidateEvidence(uploads: ReadonlyArray<Extract<RoundUpload, { kind: 'logits' }>>, candidates: number): Float64Array {
  const evidence = new Float64Array(candidates);
  for (const upload of uploads) upload.candidateEvidence.forEach((count, j) => (evidence[j] += count));
  return evidence;
}
