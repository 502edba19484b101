// Prometheus metrics of one coordinator, kept in a registry of its own and served at GET /metrics.
import type { Express } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { RoundSummary } from './federation-round.js';

/** Enrollment methods. Each one's series starts at 0, so it exists before the first enrollment. */
const ENROLLMENT_METHODS = ['open', 'allowlist', 'token', 'known'] as const;

/** Outcomes of a closed round: it produced a teacher, or it failed (`RoundSummary.failure` is set). */
const ROUND_OUTCOMES = ['teacher', 'failed'] as const;

/** Aggregation bucket bounds in seconds, from 1 ms to 60 s. */
const AGGREGATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Round bucket bounds in seconds, from 0.5 s to 30 min, which covers the default round timeout of 600 s. */
const ROUND_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * Counters, gauges and histograms of one coordinator. Every instance owns its own prom-client
 * `Registry`, so several coordinators in one process (as in the tests) never share a series.
 * Apart from the Node.js process metrics that `collectDefaultMetrics` adds, every name starts
 * with `distillate_`.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();

  private readonly clientsConnected: Gauge;
  private readonly clientsRegistered: Gauge;
  private readonly clientsEnrolled: Counter<'method'>;
  private readonly roundsOpened: Counter;
  private readonly roundsClosed: Counter<'outcome'>;
  private readonly roundCurrent: Gauge;
  private readonly roundParticipants: Gauge;
  private readonly roundUploads: Gauge;
  private readonly uploadsAccepted: Counter;
  private readonly messagesRejected: Counter<'event' | 'reason'>;
  private readonly uploadBytes: Counter;
  private readonly teacherBytes: Counter;
  private readonly aggregationDuration: Histogram;
  private readonly roundDuration: Histogram;

  /** Id of the latest opened round, or 0 before the first one. */
  private currentRoundId = 0;

  constructor() {
    // NOTE: prom-client 15 gives no way to stop what this starts (an event-loop delay monitor and
    // a GC performance observer), so each instance keeps them until the process exits.
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];

    this.clientsConnected = new Gauge({
      name: 'distillate_clients_connected',
      help: 'Clients with an open socket.io connection.',
      registers,
    });
    this.clientsRegistered = new Gauge({
      name: 'distillate_clients_registered',
      help: 'Clients that completed registration, connected or not.',
      registers,
    });
    this.clientsEnrolled = new Counter({
      name: 'distillate_clients_enrolled_total',
      help: 'Clients enrolled, by enrollment method (open, allowlist, token or known).',
      labelNames: ['method'],
      registers,
    });

    this.roundsOpened = new Counter({
      name: 'distillate_rounds_opened_total',
      help: 'Rounds opened.',
      registers,
    });
    this.roundsClosed = new Counter({
      name: 'distillate_rounds_closed_total',
      help: 'Rounds closed, by outcome: teacher (a teacher was sent) or failed.',
      labelNames: ['outcome'],
      registers,
    });
    this.roundCurrent = new Gauge({
      name: 'distillate_round_current',
      help: 'Id of the latest opened round, 0 before the first round.',
      registers,
    });
    this.roundParticipants = new Gauge({
      name: 'distillate_round_participants',
      help: 'Clients sent the task of the latest round.',
      registers,
    });
    this.roundUploads = new Gauge({
      name: 'distillate_round_uploads',
      help: 'Uploads accepted in the latest round.',
      registers,
    });

    this.uploadsAccepted = new Counter({
      name: 'distillate_uploads_accepted_total',
      help: 'Round uploads accepted.',
      registers,
    });
    this.messagesRejected = new Counter({
      name: 'distillate_messages_rejected_total',
      help: 'Client messages rejected, by event and rejection reason.',
      labelNames: ['event', 'reason'],
      registers,
    });
    this.uploadBytes = new Counter({
      name: 'distillate_upload_bytes_total',
      help: 'Bytes of accepted encrypted uploads.',
      registers,
    });
    this.teacherBytes = new Counter({
      name: 'distillate_teacher_bytes_total',
      help: 'Bytes of encrypted teachers sent, counted once per recipient.',
      registers,
    });

    this.aggregationDuration = new Histogram({
      name: 'distillate_aggregation_duration_seconds',
      help: 'Time to aggregate the uploads of a round that produced a teacher.',
      buckets: AGGREGATION_BUCKETS,
      registers,
    });
    this.roundDuration = new Histogram({
      name: 'distillate_round_duration_seconds',
      help: 'Time from opening to closing a round, failed rounds included.',
      buckets: ROUND_BUCKETS,
      registers,
    });

    for (const method of ENROLLMENT_METHODS) this.clientsEnrolled.inc({ method }, 0);
    for (const outcome of ROUND_OUTCOMES) this.roundsClosed.inc({ outcome }, 0);
  }

  /** Content type of `render()`: the Prometheus text format, version 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Renders every metric of this instance in the Prometheus text format. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  setClients(connected: number, registered: number): void {
    this.clientsConnected.set(requireCount('connected', connected));
    this.clientsRegistered.set(requireCount('registered', registered));
  }

  /** Counts one enrollment. `method` is expected to be one of open, allowlist, token or known. */
  clientEnrolled(method: string): void {
    this.clientsEnrolled.inc({ method });
  }

  /** Counts a new round and makes it the latest round, with no uploads yet. */
  roundOpened(roundId: number, participants: number): void {
    this.currentRoundId = requireCount('roundId', roundId);
    this.roundsOpened.inc();
    this.roundCurrent.set(roundId);
    this.roundParticipants.set(requireCount('participants', participants));
    this.roundUploads.set(0);
  }

  /**
   * Counts one accepted upload of `bytes` encrypted bytes. `uploads` is the round's accepted
   * uploads so far, and it sets `round_uploads` only when `roundId` is the latest round.
   */
  uploadAccepted(roundId: number, bytes: number, uploads: number): void {
    this.uploadsAccepted.inc();
    this.uploadBytes.inc(requireCount('bytes', bytes));
    if (roundId === this.currentRoundId) this.roundUploads.set(requireCount('uploads', uploads));
  }

  /**
   * Counts one rejected message. `event` is the message kind (register, upload, upload-part,
   * metrics, report, or unknown for an event name the protocol does not have) and `reason` is its `RejectionReason`.
   */
  messageRejected(event: string, reason: string): void {
    this.messagesRejected.inc({ event, reason });
  }

  /** Adds `bytes` × `recipients` to the teacher bytes, because each recipient gets its own copy. */
  teacherSent(bytes: number, recipients: number): void {
    this.teacherBytes.inc(requireCount('bytes', bytes) * requireCount('recipients', recipients));
  }

  /**
   * Counts a closed round by outcome and records its duration. Its aggregation time is recorded
   * only when it produced a teacher, because a failed round may never have aggregated and then
   * reports 0 ms.
   */
  roundClosed(summary: RoundSummary): void {
    const failed = summary.failure !== null;
    this.roundsClosed.inc({ outcome: failed ? 'failed' : 'teacher' });
    this.roundDuration.observe(durationSeconds('durationMs', summary.durationMs));
    if (!failed) this.aggregationDuration.observe(durationSeconds('aggregationMs', summary.aggregationMs));
  }
}

/** Serves `GET /metrics` from `metrics` in the Prometheus text format. */
export function mountMetricsEndpoint(app: Express, metrics: CoordinatorMetrics): void {
  app.get('/metrics', async (_request, response) => {
    // Express 5 passes a rejected promise to the error handler, which responds with status 500.
    const body = await metrics.render();
    response.set('Content-Type', metrics.contentType);
    response.send(body);
  });
}

function requireCount(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative finite number, got ${value}.`);
  }
  return value;
}

/**
 * Converts milliseconds to seconds. A negative duration becomes 0, because `durationMs` comes
 * from the wall clock (`Date.now()`), which can step back.
 */
function durationSeconds(name: string, milliseconds: number): number {
  if (!Number.isFinite(milliseconds)) {
    throw new RangeError(`${name} must be a finite number of milliseconds, got ${milliseconds}.`);
  }
  return Math.max(0, milliseconds) / 1000;
}
