// The coordinator: an express + socket.io server that registers clients, runs the rounds of
// federated distillation, and collects the clients' evaluation reports. It never sees raw
// interactions: only encrypted logits on the transfer set, evidence counts and metric sums.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Server as HttpServer, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
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
  type UploadMessage,
  type UploadReply,
  PROTOCOL_VERSION,
  boxRoundKey,
  clientIdFor,
  codecFromSpec,
  createRandom,
  createIdentity,
  createRoundKey,
  describeSchemaError,
  emptyEvaluationSums,
  encodeMatrixFrame,
  fingerprintOf,
  mergeMetricSums,
  publicIdentity,
  sampleWithoutReplacement,
  sealTeacher,
  transferSetFromFrames,
  transferSetToFrames,
  uploadPartMessageSchema,
  verifyRegistration,
} from '@distillate/shared';
import express from 'express';
import pino, { type Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import nacl from 'tweetnacl';

import { type AggregationStrategy, averageParameters, createAggregationStrategy, jointItemPatterns } from './aggregation/index.js';
import { ClientRegistry, type RegisteredClient } from './client-registry.js';
import { type CoordinatorConfig, quorumFor, resolveCoordinatorConfig } from './coordinator-config.js';
import { CoordinatorMetrics } from './coordinator-metrics.js';
import { CoordinatorStore, type StoredClient } from './coordinator-store.js';
import { Enrollment } from './enrollment.js';
import { FederationRound, RELEASED_UPLOAD, type RoundSummary, type RoundUpload } from './federation-round.js';
import { mountHttpApi } from './http-api.js';
import {
  MessageRejection,
  type UploadFormat,
  checkEvaluationReport,
  checkRegistration,
  checkRoundMetrics,
  checkUpload,
  decodeAcceptedUpload,
} from './message-checks.js';
import { RateLimiter } from './rate-limiter.js';
import { TransferSetSampler } from './transfer-set-sampler.js';
import { UploadAssembler } from './upload-assembler.js';

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
  /** Any rejected message: registrations, uploads and their parts, metrics, reports, and messages over the rate limit. */
  'message-rejected': [{ event: string; roundId: number | null; clientId: string | null; reason: RejectionReason; message: string }];
  'round-closed': [RoundSummary];
  'report-received': [{ clientId: string; reports: number }];
  'federation-finished': [FederationResults];
}

type FederationSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** Short name of each client-to-coordinator event, as logs, the audit log and metrics label rejections. */
const EVENT_LABELS: Record<string, string> = {
  'session:register': 'register',
  'round:upload': 'upload',
  'round:upload-part': 'upload-part',
  'round:metrics': 'metrics',
  'evaluation:report': 'report',
};

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: CoordinatorConfig;
  readonly identity: Identity;
  readonly fingerprint: string;
  readonly logger: Logger;
  readonly metrics = new CoordinatorMetrics();
  /** Random id of this federation, kept in its database across restarts. */
  readonly federationId: string;

  private readonly registry = new ClientRegistry();
  private readonly challenges = new Map<string, Uint8Array>();
  private readonly store: CoordinatorStore;
  private readonly enrollment: Enrollment;
  private readonly assembler: UploadAssembler;
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
      // Any float32, float16 or int8 matrix that one client may upload in a round has at most this many values.
      maxMatrixValues: this.config.maxUploadBytesPerRound,
    };
    this.teacherCodec = codecFromSpec(this.config.teacherCodec);
    this.assembler = new UploadAssembler(this.config.maxUploadBytesPerRound);

    this.store = new CoordinatorStore(this.config.database ?? ':memory:');
    try {
      this.store.bindFederation(this.federationSettings());
      const finishedAt = this.store.finishedAt();
      if (finishedAt !== null) {
        throw new Error(
          `The coordinator database ${this.store.file} contains a federation that finished at ${finishedAt}. ` +
            'Give a new database file to start another federation; this one keeps the finished rounds and reports.',
        );
      }
      this.federationId = this.store.federationId();
      this.enrollment = new Enrollment(this.config.enrollment, this.store);
      this.restore();
    } catch (error) {
      this.store.close();
      throw error;
    }
  }

  /** Settings a database is bound to: resuming it under others would mix incompatible rounds. */
  private federationSettings(): Record<string, unknown> {
    const { rounds, exchange, uploadCodec, teacherCodec, seed, probesPerRound, candidatesPerRound, aggregation } = this.config;
    const catalog = createHash('sha256').update(JSON.stringify(this.config.itemIds)).digest('hex');
    return { fingerprint: this.fingerprint, catalog, rounds, exchange, uploadCodec, teacherCodec, seed, probesPerRound, candidatesPerRound, aggregation };
  }

  /**
   * Reads back what the database holds: the registry, every round with its teacher, the accepted
   * uploads of a round that had not closed, round metrics and reports. A coordinator restarted
   * on its database then goes on where the previous process stopped.
   */
  private restore(): void {
    const clients = this.store.clients();
    for (const client of clients) this.registry.restore(client, this.identity.box.secretKey);

    for (const stored of this.store.rounds()) {
      const transferSet = stored.transferSet ? transferSetFromFrames(stored.roundId, stored.transferSet) : null;
      const round = new FederationRound(stored.roundId, transferSet, new Set(stored.participants), stored.deadline, quorumFor(this.config.quorum, stored.participants.length));
      Object.assign(round, {
        state: stored.state,
        openedAt: stored.openedAt,
        closedAt: stored.closedAt,
        failure: stored.failure,
        rejectedUploads: stored.rejectedUploads,
        uploadBytes: stored.uploadBytes,
        teacherBytes: stored.teacherBytes,
        aggregationMs: stored.aggregationMs,
        sealedTeacher: stored.teacher,
      });
      if (stored.samplerState) this.sampler.restoreState(stored.samplerState);
      for (const { clientId, metrics } of this.store.roundMetrics(stored.roundId)) round.metrics.set(clientId, metrics as never);
      if (stored.state === 'closed') {
        // The payloads of a closed round are gone; the round still records who uploaded.
        for (const clientId of stored.uploaders) round.uploads.set(clientId, RELEASED_UPLOAD);
      } else {
        for (const upload of this.store.uploads(stored.roundId)) {
          round.uploads.set(upload.clientId, decodeAcceptedUpload(upload.sealed, this.registry.get(upload.clientId)!, round, this.uploadFormat));
        }
      }
      this.rounds.push(round);
    }
    for (const { clientId, report } of this.store.reports()) this.reports.set(clientId, report as EvaluationReport);
    this.metrics.setClients(0, clients.length);

    if (this.rounds.length > 0) {
      const current = this.rounds.at(-1)!;
      this.logger.info(
        { database: this.store.file, clients: clients.length, roundId: current.roundId, roundState: current.state, uploads: current.uploads.size },
        'resuming the federation from its database',
      );
    }
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
    this.httpServer = this.config.tls ? this.createTlsServer(app) : createServer(app);
    this.io = new Server(this.httpServer, {
      transports: ['websocket'],
      // NOTE: socket.io closes a connection whose message exceeds maxHttpBufferSize, without a
      // reply. The margin leaves room for the fields around a binary field of maxMessageBytes,
      // which the checks below reject with a reply.
      maxHttpBufferSize: this.config.maxMessageBytes + 64 * 1024,
      // Clients may compute for a while between messages; give their heartbeats room.
      pingTimeout: 60_000,
    });
    this.io.on('connection', (socket) => this.onConnection(socket));

    await new Promise<void>((resolve, reject) => {
      this.httpServer!.once('error', (error: NodeJS.ErrnoException) => {
        const address = `${this.config.host}:${this.config.port}`;
        if (error.code === 'EADDRINUSE') reject(new Error(`Port ${this.config.port} is already in use on ${this.config.host}. Stop the process that listens there, or choose another port.`));
        else if (error.code === 'EADDRNOTAVAIL') reject(new Error(`Cannot listen on ${address}: no network interface has the address ${this.config.host}. Check the host setting.`));
        else reject(error);
      });
      this.httpServer!.listen(this.config.port, this.config.host, () => resolve());
    });

    this.finished = this.runFederation();
    this.finished.catch((error: unknown) => this.logger.error({ err: error }, 'federation failed'));
    if (this.enrollment.mode === 'open') this.logger.warn('enrollment is open: any client that signs the challenge can join');
    if (typeof this.config.quorum === 'number' && this.config.quorum > this.config.minClients) {
      this.logger.warn(
        { quorum: this.config.quorum, minClients: this.config.minClients },
        'the quorum is above minClients, so rounds fail unless more clients than minClients take part',
      );
    }
    this.logger.info({ url: this.url, fingerprint: this.fingerprint, enrollment: this.enrollment.mode, database: this.config.database }, 'coordinator listening');
    return this.url;
  }

  /** Creates the https server, with an error that names the settings to check when the certificate or key is unusable. */
  private createTlsServer(app: express.Express): HttpServer {
    try {
      return createHttpsServer({ cert: this.config.tls!.cert, key: this.config.tls!.key }, app);
    } catch (error) {
      throw new Error(
        `The TLS certificate and key are not usable: ${(error as Error).message}. ` +
          'Check that the certificate file holds a PEM certificate chain and the key file its PEM private key, and that they belong together.',
      );
    }
  }

  get url(): string {
    const address = this.httpServer?.address() as AddressInfo | null;
    if (!address) throw new Error('The coordinator is not listening; call start() first.');
    return `${this.config.tls ? 'https' : 'http'}://${this.config.host}:${address.port}`;
  }

  /** Whether the coordinator accepts clients: listening, and not stopped. */
  get ready(): boolean {
    return this.httpServer?.listening === true && this.state !== 'stopped';
  }

  /** Resolves with the results once every round has run and the reports are in. */
  results(): Promise<FederationResults> {
    if (this.finished === null) throw new Error('The coordinator has not started; call start() first.');
    return this.finished;
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.rounds.at(-1)?.abort();
    this.clientsReady?.();
    this.reportsReady?.();
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
    this.httpServer?.closeAllConnections();
    // Let the federation loop see the stop before the database closes under it.
    await this.finished?.catch(() => undefined);
    this.store.close();
    this.logger.info('coordinator stopped');
  }

  status(): {
    state: FederationState;
    fingerprint: string;
    enrollment: string;
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
      enrollment: this.enrollment.mode,
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

  /** Returns the last entries of the audit log, oldest first. */
  auditLog(limit?: number) {
    return this.store.auditLog(limit);
  }

  private async runFederation(): Promise<FederationResults> {
    await new Promise<void>((resolve) => {
      this.clientsReady = resolve;
      this.checkClientsReady();
    });
    // stop() also ends this wait. A coordinator stopped before enough clients joined opens no
    // round, so its database contains no failed round that a restart would take as done.
    if (this.state === 'stopped') return this.collectResults();

    this.state = 'running';
    const interrupted = this.rounds.at(-1);
    if (interrupted && interrupted.state !== 'closed') {
      interrupted.deadline = Math.max(interrupted.deadline, Date.now() + this.config.resumeGraceMs);
      interrupted.state = 'collecting';
      this.logger.info({ roundId: interrupted.roundId, uploads: interrupted.uploads.size, deadline: interrupted.deadline }, 'round resumed');
      await this.completeRound(interrupted);
    }
    for (let roundId = (this.rounds.at(-1)?.roundId ?? 0) + 1; roundId <= this.config.rounds && this.isRunning(); roundId++) {
      await this.completeRound(this.openRound(roundId));
    }
    if (!this.isRunning()) return this.collectResults();

    this.state = 'reporting';
    const lastRound = this.lastTeacherRound();
    if (lastRound) this.sendClosingTeacher(lastRound);
    const reportsDue = new Promise<void>((resolve) => (this.reportsReady = resolve));
    // Every client that took part, and every connected one, evaluates: with sampled rounds, some clients never took part.
    this.reportsExpected = new Set([...this.rounds.flatMap((round) => [...round.participants]), ...this.registry.connected().map((client) => client.clientId)]);
    for (const client of this.registry.connected()) {
      if (!this.reports.has(client.clientId)) this.sendCompletion(client);
    }
    this.checkReportsReady();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([reportsDue, new Promise((resolve) => (timer = setTimeout(resolve, this.config.reportTimeoutMs)))]);
    clearTimeout(timer);

    this.state = 'finished';
    const results = this.collectResults();
    this.logger.info({ reports: this.reports.size, rounds: this.rounds.length }, 'federation finished');
    this.store.audit('federation-finished', null, null, { reports: this.reports.size });
    this.store.markFinished();
    this.emit('federation-finished', results);
    return results;
  }

  private isRunning(): boolean {
    return this.state === 'running';
  }

  private lastTeacherRound(): FederationRound | undefined {
    return this.rounds.filter((round) => round.sealedTeacher !== null).at(-1);
  }

  /** Draws the round's transfer set and participants, records the round, and sends the task. */
  private openRound(roundId: number): FederationRound {
    const transferSet = this.config.exchange === 'logits' ? this.sampler.sample(roundId) : null;
    const participants = this.chooseParticipants(roundId);
    const round = new FederationRound(
      roundId,
      transferSet,
      new Set(participants.map((client) => client.clientId)),
      Date.now() + this.config.roundTimeoutMs,
      quorumFor(this.config.quorum, participants.length),
    );
    this.rounds.push(round);
    round.state = 'collecting';
    this.saveRound(round);
    this.store.audit('round-opened', null, roundId, { participants: [...round.participants] });

    for (const client of participants) this.sendTask(round, client);
    if (participants.length < round.quorum) {
      this.logger.warn(
        { roundId, participants: participants.length, quorum: round.quorum },
        'the round has fewer participants than its quorum, so it will fail at its deadline; lower the quorum or raise minClients',
      );
    }
    this.logger.info({ roundId, participants: participants.length, quorum: round.quorum, probes: round.probes, candidates: round.candidates }, 'round opened');
    this.metrics.roundOpened(roundId, participants.length);
    this.emit('round-opened', { roundId, participants: participants.length, probes: round.probes, candidates: round.candidates });
    return round;
  }

  private sendTask(round: FederationRound, client: RegisteredClient): void {
    if (client.socketId === null) return;
    this.io!.to(client.socketId).emit('round:task', {
      protocolVersion: PROTOCOL_VERSION,
      roundId: round.roundId,
      deadline: round.deadline,
      transferSet: round.transferSet ? transferSetToFrames(round.transferSet) : undefined,
    });
  }

  /** Waits for the round's uploads, then aggregates and distributes the teacher, or fails the round. */
  private async completeRound(round: FederationRound): Promise<void> {
    await round.waitForUploads();
    if (!this.isRunning()) return;

    if (!round.quorumReached) {
      round.failure =
        round.uploads.size === 0
          ? 'no client uploaded before the deadline'
          : `quorum not reached: ${round.uploads.size} uploads before the deadline, ${round.quorum} needed`;
      this.closeRound(round);
      this.logger.warn({ roundId: round.roundId, uploads: round.uploads.size, quorum: round.quorum }, 'round failed');
      return;
    }

    round.state = 'aggregating';
    const started = performance.now();
    const payload = this.aggregate(round);
    round.aggregationMs = performance.now() - started;

    round.state = 'distributing';
    const roundKey = createRoundKey();
    const sealed = sealTeacher(round.roundId, payload, roundKey);
    round.teacherBytes = sealed.ciphertext.byteLength;
    round.sealedTeacher = { ciphertext: sealed.ciphertext, roundKey };
    // The teacher is on disk before any client sees it, so a restart sends the same teacher again.
    this.saveRound(round);
    let recipients = 0;
    for (const clientId of round.participants) {
      const client = this.registry.get(clientId);
      if (client?.socketId) {
        this.sendTeacher(round, client, false);
        recipients += 1;
      }
    }
    this.metrics.teacherSent(round.teacherBytes, recipients);

    this.closeRound(round);
    this.logger.info(
      { roundId: round.roundId, uploads: round.uploads.size, aggregationMs: Math.round(round.aggregationMs), teacherBytes: round.teacherBytes },
      'round closed',
    );
  }

  private closeRound(round: FederationRound): void {
    round.state = 'closed';
    round.closedAt = Date.now();
    this.saveRound(round);
    this.store.discardUploads(round.roundId);
    round.releasePayloads();
    this.store.audit('round-closed', null, round.roundId, { uploads: round.uploads.size, failure: round.failure });
    this.metrics.roundClosed(round.summary());
    this.emit('round-closed', round.summary());
  }

  private saveRound(round: FederationRound): void {
    this.store.saveRound({
      roundId: round.roundId,
      state: round.state,
      participants: [...round.participants],
      uploaders: [...round.uploads.keys()],
      deadline: round.deadline,
      openedAt: round.openedAt,
      closedAt: round.closedAt,
      transferSet: round.transferSet ? transferSetToFrames(round.transferSet) : null,
      failure: round.failure,
      rejectedUploads: round.rejectedUploads,
      uploadBytes: round.uploadBytes,
      teacherBytes: round.teacherBytes,
      aggregationMs: round.aggregationMs,
      teacher: round.sealedTeacher,
      samplerState: round.state === 'closed' ? this.sampler.saveState() : null,
    });
  }

  /** Sends a round's teacher to one client; `withTransferSet` for a client that did not score that round. */
  private sendTeacher(round: FederationRound, client: RegisteredClient, withTransferSet: boolean): void {
    if (round.sealedTeacher === null || client.socketId === null) return;
    this.io!.to(client.socketId).emit('round:teacher', {
      protocolVersion: PROTOCOL_VERSION,
      roundId: round.roundId,
      teacher: round.sealedTeacher.ciphertext,
      roundKey: boxRoundKey(round.roundId, round.sealedTeacher.roundKey, client.sharedKey),
      transferSet: withTransferSet && round.transferSet ? transferSetToFrames(round.transferSet) : undefined,
    });
  }

  /**
   * Sends the last round's teacher, with its transfer set, to the connected clients that did not
   * take part in that round. With sampled rounds, some clients would otherwise be evaluated
   * without anything learned from the federation.
   */
  private sendClosingTeacher(round: FederationRound): void {
    let sent = 0;
    for (const client of this.registry.connected()) {
      if (round.participants.has(client.clientId)) continue;
      this.sendTeacher(round, client, true);
      sent += 1;
    }
    if (sent > 0) this.logger.info({ roundId: round.roundId, clients: sent }, 'closing teacher sent to clients that missed the last round');
  }

  private sendCompletion(client: RegisteredClient): void {
    if (client.socketId === null) return;
    this.io!.to(client.socketId).emit('federation:complete', { protocolVersion: PROTOCOL_VERSION, lastRoundId: this.lastTeacherRound()?.roundId ?? 0 });
  }

  /**
   * Brings a client that (re)registered up to date: the task of the collecting round it has not
   * uploaded for, the teacher of the last round it took part in, or the request for its report.
   * After a restart of either side, this is how a round goes on without anyone's work lost.
   * Clients ignore a teacher they already have.
   */
  private catchUp(client: RegisteredClient): void {
    const current = this.rounds.at(-1);
    if (this.state === 'reporting') {
      const last = this.lastTeacherRound();
      if (last) this.sendTeacher(last, client, !last.participants.has(client.clientId));
      if (!this.reports.has(client.clientId)) {
        this.reportsExpected.add(client.clientId);
        this.sendCompletion(client);
      }
      return;
    }
    if (current === undefined) return;
    if (current.state === 'collecting' && current.participants.has(client.clientId) && !current.uploads.has(client.clientId)) {
      this.sendTask(current, client);
      return;
    }
    const lastTaken = this.rounds.filter((round) => round.sealedTeacher !== null && round.participants.has(client.clientId)).at(-1);
    if (lastTaken && lastTaken === this.lastTeacherRound()) this.sendTeacher(lastTaken, client, false);
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
    this.limitRate(socket);
    socket.emit('session:challenge', {
      protocolVersion: PROTOCOL_VERSION,
      challenge,
      coordinatorSigningKey: this.identity.signing.publicKey,
      coordinatorBoxKey: this.identity.box.publicKey,
    });

    socket.on('session:register', (message, reply) => this.handle(socket, 'register', reply, () => this.onRegister(socket, message)));
    socket.on('round:upload', (message, reply) => this.handle(socket, 'upload', reply, () => this.onUpload(socket, message)));
    socket.on('round:upload-part', (message, reply) => this.handle(socket, 'upload-part', reply, () => this.onUploadPart(socket, message)));
    socket.on('evaluation:report', (message, reply) => this.handle(socket, 'report', reply, () => this.onReport(socket, message)));
    socket.on('round:metrics', (message, reply) => this.handle(socket, 'metrics', reply, () => this.onRoundMetrics(socket, message)));
    socket.on('disconnect', (reason) => {
      this.challenges.delete(socket.id);
      const client = this.registry.disconnect(socket.id);
      if (client) {
        this.assembler.discard(client.clientId);
        this.logger.info({ clientId: client.clientId, reason }, 'client disconnected');
      }
      this.metrics.setClients(this.registry.connected().length, this.registry.all().length);
    });
  }

  /**
   * Drops the messages of a connection beyond its rate limit, and replies to each with a rejection.
   * A connection that keeps sending at ten times its burst past the limit is closed.
   */
  private limitRate(socket: FederationSocket): void {
    const limiter = new RateLimiter(this.config.rateLimit);
    socket.use((packet, next) => {
      if (limiter.tryTake()) return next();
      const reply = packet.at(-1);
      const rejection = new MessageRejection(
        'rate-limited',
        `This connection sent more than ${this.config.rateLimit.burst} messages at once or ${this.config.rateLimit.messagesPerSecond} per second; slow down and retry.`,
      );
      // One log line for the first rejected message and one for every 100 after it, so that a flood does not flood the log.
      this.reject(socket, EVENT_LABELS[String(packet[0])] ?? 'unknown', rejection, { log: limiter.rejected % 100 === 1, audit: limiter.rejected === 1 });
      if (typeof reply === 'function') reply({ ok: false, reason: rejection.reason, error: rejection.message });
      if (limiter.rejected > this.config.rateLimit.burst * 10) {
        this.logger.warn({ clientId: this.registry.bySocket(socket.id)?.clientId ?? null, rejected: limiter.rejected }, 'connection closed for flooding');
        socket.disconnect(true);
      }
    });
  }

  /**
   * Runs one message handler and replies through the acknowledgement: the handler's reply, or a
   * rejection that is logged, counted and audited. A message that requests no acknowledgement is
   * rejected without a reply. No rejection stops the coordinator or touches another client's work.
   */
  private handle(socket: FederationSocket, event: string, reply: unknown, handler: () => object): void {
    const respond = typeof reply === 'function' ? (reply as (answer: object) => void) : null;
    try {
      if (respond === null) throw new MessageRejection('invalid-message', `A ${event} message must ask for an acknowledgement; use emitWithAck.`);
      respond(handler());
    } catch (error) {
      const rejection = MessageRejection.from(error);
      this.reject(socket, event, rejection);
      respond?.({ ok: false, reason: rejection.reason, error: rejection.message });
    }
  }

  private reject(socket: FederationSocket, event: string, rejection: MessageRejection, options = { log: true, audit: true }): void {
    const clientId = this.registry.bySocket(socket.id)?.clientId ?? null;
    const roundId = this.rounds.at(-1)?.roundId ?? null;
    if (options.log) this.logger.warn({ event, clientId, roundId, reason: rejection.reason, err: rejection.message }, `${event} rejected`);
    if (options.audit) this.store.audit('rejected', clientId, roundId, { event, reason: rejection.reason, message: rejection.message });
    this.metrics.messageRejected(event, rejection.reason);
    this.emit('message-rejected', { event, roundId, clientId, reason: rejection.reason, message: rejection.message });
    if (event === 'upload' || event === 'upload-part') {
      this.emit('upload-rejected', { roundId, clientId, reason: rejection.reason, message: rejection.message });
    }
  }

  private onRegister(socket: FederationSocket, message: unknown): RegisterReply {
    const request = checkRegistration(message);
    const challenge = this.challenges.get(socket.id);
    const keys = { signingPublicKey: request.signingPublicKey, boxPublicKey: request.boxPublicKey };
    if (!challenge || !verifyRegistration(challenge, keys, request.signature)) {
      throw new MessageRejection('invalid-message', 'The registration signature does not verify against the challenge of this connection. Reconnect and sign the new challenge.');
    }

    const clientId = clientIdFor(request.signingPublicKey);
    const known = this.registry.get(clientId);
    const method = this.enrollment.admit(clientId, known?.enrolledBy ?? null, request.enrollmentToken);
    this.challenges.delete(socket.id);

    const client = this.registry.register(clientId, keys, request.exampleCount, socket.id, this.identity.box.secretKey, known?.enrolledBy ?? method);
    this.store.saveClient(storedClient(client));
    this.store.audit(known ? 'client-reconnected' : 'client-enrolled', clientId, null, { method });
    if (!known) this.metrics.clientEnrolled(method);
    this.metrics.setClients(this.registry.connected().length, this.registry.all().length);
    const registered = this.registry.all().length;
    this.logger.info({ clientId, registered, method }, known ? 'client registered again' : 'client registered');

    const { rounds, itemIds, exchange, uploadCodec, teacherCodec, roundMetrics, maxMessageBytes } = this.config;
    // The reply goes out before anything the catch-up sends, since socket.io keeps the order of one connection.
    setImmediate(() => {
      this.emit('client-registered', { clientId, registered });
      this.catchUp(client);
      this.checkClientsReady();
    });
    return {
      ok: true,
      clientId,
      federation: { federationId: this.federationId, rounds, itemIds, exchange, uploadCodec, teacherCodec, roundMetrics, maxMessageBytes },
      lastSequence: client.lastSequence,
    };
  }

  private onUpload(socket: FederationSocket, message: unknown): UploadReply {
    const size = isUploadMessage(message) ? message.upload.byteLength : 0;
    if (size > this.config.maxMessageBytes) {
      throw new MessageRejection('too-large', `Upload of ${size} bytes exceeds the ${this.config.maxMessageBytes}-byte message limit; send it in parts (round:upload-part).`);
    }
    return this.acceptUpload(socket, message, size);
  }

  private onUploadPart(socket: FederationSocket, message: unknown): UploadReply {
    const parsed = uploadPartMessageSchema.safeParse(message);
    if (!parsed.success) throw new MessageRejection('invalid-message', `Invalid upload part: ${describeSchemaError(parsed.error)}.`);
    const part = parsed.data;
    if (part.protocolVersion !== PROTOCOL_VERSION) {
      throw new MessageRejection('protocol-version', `Protocol version ${part.protocolVersion} is not supported; this coordinator speaks version ${PROTOCOL_VERSION}. Update the client.`);
    }
    const client = this.registry.bySocket(socket.id);
    if (client === undefined) throw new MessageRejection('not-registered', 'Upload part from a connection that has not registered. Register first.');
    if (part.part.byteLength > this.config.maxMessageBytes) {
      throw new MessageRejection('too-large', `Upload part of ${part.part.byteLength} bytes exceeds the ${this.config.maxMessageBytes}-byte message limit.`);
    }
    const round = this.rounds.find((candidate) => candidate.roundId === part.roundId);
    round?.countReceivedBytes(client.clientId, part.part.byteLength, this.config.maxUploadBytesPerRound);

    const joined = this.assembler.add(client.clientId, part);
    if (joined === null) return { ok: true };
    return this.acceptUpload(socket, { protocolVersion: part.protocolVersion, roundId: part.roundId, upload: joined }, 0);
  }

  /**
   * Checks an upload and commits it to the database before replying, so that an accepted
   * upload survives a restart. `countBytes` is the message's size when its parts were not counted already.
   */
  private acceptUpload(socket: FederationSocket, message: unknown, countBytes: number): UploadReply {
    const client = this.registry.bySocket(socket.id);
    const round = this.rounds.at(-1) ?? null;
    try {
      if (client && round && countBytes > 0 && isUploadMessage(message) && message.roundId === round.roundId) {
        round.countReceivedBytes(client.clientId, countBytes, this.config.maxUploadBytesPerRound);
      }
      const { upload, sequence, bytes } = checkUpload(message, client, round, this.uploadFormat);
      client!.lastSequence = sequence;
      client!.bytesReceived += bytes;
      round!.acceptUpload(client!.clientId, upload, bytes);
      this.store.acceptUpload(round!.roundId, storedClient(client!), { clientId: client!.clientId, sealed: (message as UploadMessage).upload, bytes }, round!.uploadBytes);
    } catch (error) {
      if (round) round.rejectedUploads += 1;
      this.answerLateUpload(client, message, error);
      throw error;
    }

    this.metrics.uploadAccepted(round!.roundId, bytes(message), round!.uploads.size);
    this.emit('upload-accepted', { roundId: round!.roundId, clientId: client!.clientId, uploads: round!.uploads.size, participants: round!.participants.size });
    return { ok: true };
  }

  /** Sends the current teacher to a client whose upload came after its round closed. */
  private answerLateUpload(client: RegisteredClient | undefined, message: unknown, error: unknown): void {
    if (client === undefined || !(error instanceof MessageRejection) || error.reason !== 'stale-round' || !isUploadMessage(message)) return;
    const latest = this.lastTeacherRound();
    if (latest === undefined || message.roundId > latest.roundId) return;
    this.sendTeacher(latest, client, !latest.participants.has(client.clientId));
    this.logger.info({ clientId: client.clientId, uploadRound: message.roundId, teacherRound: latest.roundId }, 'late upload rejected; sent the current teacher instead');
  }

  private onReport(socket: FederationSocket, message: unknown): UploadReply {
    const client = this.registry.bySocket(socket.id);
    if (this.state !== 'reporting') {
      throw new MessageRejection('stale-round', `Reports are accepted after the last round; the federation is ${this.state}.`);
    }
    const { report, sequence } = checkEvaluationReport(message, client);
    client!.lastSequence = sequence;
    this.reports.set(client!.clientId, report);
    this.store.saveReport(client!.clientId, report, storedClient(client!));
    this.logger.info({ clientId: client!.clientId, reports: this.reports.size }, 'evaluation report received');
    this.emit('report-received', { clientId: client!.clientId, reports: this.reports.size });
    this.checkReportsReady();
    return { ok: true };
  }

  private onRoundMetrics(socket: FederationSocket, message: unknown): UploadReply {
    const client = this.registry.bySocket(socket.id);
    if (!this.config.roundMetrics) {
      throw new MessageRejection('invalid-message', 'This coordinator does not collect round metrics; its roundMetrics setting is off.');
    }
    const { metrics, round, sequence } = checkRoundMetrics(message, client, this.rounds);
    client!.lastSequence = sequence;
    round.metrics.set(client!.clientId, metrics);
    this.store.saveRoundMetrics(round.roundId, client!.clientId, metrics, storedClient(client!));
    return { ok: true };
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

function storedClient(client: RegisteredClient): StoredClient {
  const { clientId, signingPublicKey, boxPublicKey, exampleCount, lastSequence, bytesReceived, enrolledBy } = client;
  return { clientId, signingPublicKey, boxPublicKey, exampleCount, lastSequence, bytesReceived, enrolledBy };
}

function isUploadMessage(message: unknown): message is UploadMessage {
  return typeof message === 'object' && message !== null && (message as UploadMessage).upload instanceof Uint8Array && typeof (message as UploadMessage).roundId === 'number';
}

function bytes(message: unknown): number {
  return isUploadMessage(message) ? message.upload.byteLength : 0;
}
