// One round of the federation and its explicit states:
// open → collecting → aggregating → distributing → closed.
import { type LogitUpload, type MatrixShape, type RoundMetrics, type TransferSet, emptyEvaluationSums, mergeMetricSums } from '@distillate/shared';

import { MessageRejection } from './message-checks.js';

/** An accepted upload: logits on the transfer set, or a matrix of parameters or item patterns. */
export type RoundUpload = ({ kind: 'logits' } & LogitUpload) | { kind: 'matrix'; values: Float32Array; shape: MatrixShape };

/** Entry of an upload whose payload was freed after its round closed. */
export const RELEASED_UPLOAD: RoundUpload = { kind: 'matrix', values: new Float32Array(0), shape: { rows: 0, columns: 0 } };

export type RoundState = 'open' | 'collecting' | 'aggregating' | 'distributing' | 'closed';

export class FederationRound {
  state: RoundState = 'open';
  readonly uploads = new Map<string, RoundUpload>();
  /** Metric sums the participants reported after the round, by client id. */
  readonly metrics = new Map<string, RoundMetrics>();
  /** Bytes each client sent for this round, accepted or not; bounded by maxUploadBytesPerRound. */
  readonly receivedBytes = new Map<string, number>();
  openedAt = Date.now();
  closedAt: number | null = null;
  rejectedUploads = 0;
  uploadBytes = 0;
  teacherBytes = 0;
  aggregationMs = 0;
  /** The encrypted teacher and its round key, kept to send the last round's teacher to clients that missed it. */
  sealedTeacher: { ciphertext: Uint8Array; roundKey: Uint8Array } | null = null;
  /** Why the round closed without a teacher, or null when it produced one. */
  failure: string | null = null;

  private settle: (() => void) | null = null;
  private readonly allUploaded: Promise<void>;

  constructor(
    readonly roundId: number,
    /** The probes and candidates to score, or null when the federation exchanges parameters or patterns. */
    readonly transferSet: TransferSet | null,
    /** Clients sent the task when the round opened. */
    readonly participants: ReadonlySet<string>,
    /** Unix time in milliseconds after which no upload is accepted. */
    public deadline: number,
    /** Fewest uploads that make a teacher; with fewer by the deadline, the round fails. */
    readonly quorum = 1,
  ) {
    this.allUploaded = new Promise((resolve) => (this.settle = resolve));
  }

  get probes(): number {
    return this.transferSet ? this.transferSet.probeOffsets.length - 1 : 0;
  }

  get candidates(): number {
    return this.transferSet?.candidates.length ?? 0;
  }

  acceptUpload(clientId: string, upload: RoundUpload, bytes: number): void {
    this.uploads.set(clientId, upload);
    this.uploadBytes += bytes;
    if ([...this.participants].every((participant) => this.uploads.has(participant))) this.settle?.();
  }

  /** Resolves once every participant has uploaded, or when the deadline passes. */
  async waitForUploads(): Promise<void> {
    if ([...this.participants].every((participant) => this.uploads.has(participant))) return;
    let timer: NodeJS.Timeout | undefined;
    const deadlinePassed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, this.deadline - Date.now()));
    });
    await Promise.race([this.allUploaded, deadlinePassed]);
    clearTimeout(timer);
  }

  /**
   * Frees the decoded payloads once the round has closed. The map keeps one empty entry per
   * client, so the round still records who uploaded.
   */
  releasePayloads(): void {
    for (const clientId of this.uploads.keys()) this.uploads.set(clientId, RELEASED_UPLOAD);
  }

  /** Whether the accepted uploads are enough to aggregate. */
  get quorumReached(): boolean {
    return this.uploads.size >= this.quorum;
  }

  /**
   * Counts bytes a client sent for this round, and rejects the message that takes the client
   * past `limit`.
   */
  countReceivedBytes(clientId: string, bytes: number, limit: number): void {
    const total = (this.receivedBytes.get(clientId) ?? 0) + bytes;
    if (total > limit) {
      throw new MessageRejection(
        'too-large',
        `Client ${clientId} has sent ${total} bytes for round ${this.roundId}, more than the ${limit} bytes allowed per client per round.`,
      );
    }
    this.receivedBytes.set(clientId, total);
  }

  /** Ends the wait early, as when the coordinator stops. */
  abort(): void {
    this.settle?.();
  }

  summary(): RoundSummary {
    return {
      roundId: this.roundId,
      state: this.state,
      participants: this.participants.size,
      quorum: this.quorum,
      uploads: this.uploads.size,
      rejectedUploads: this.rejectedUploads,
      probes: this.probes,
      candidates: this.candidates,
      uploadBytes: this.uploadBytes,
      teacherBytes: this.teacherBytes,
      aggregationMs: this.aggregationMs,
      durationMs: (this.closedAt ?? Date.now()) - this.openedAt,
      failure: this.failure,
      metricReports: this.metrics.size,
      metrics: this.summedMetrics(),
    };
  }

  /** Adds the participants' metric sums in client id order, so that the sums repeat exactly. Returns null without reports. */
  private summedMetrics(): RoundMetrics | null {
    if (this.metrics.size === 0) return null;
    const total = { test: emptyEvaluationSums(), validation: emptyEvaluationSums() };
    for (const clientId of [...this.metrics.keys()].sort()) {
      const metrics = this.metrics.get(clientId)!;
      for (const purpose of ['test', 'validation'] as const) {
        mergeMetricSums(total[purpose].full, metrics[purpose].full);
        mergeMetricSums(total[purpose].sampled, metrics[purpose].sampled);
      }
    }
    return total;
  }
}

export interface RoundSummary {
  roundId: number;
  state: RoundState;
  participants: number;
  /** Fewest uploads the round needed to make a teacher. */
  quorum: number;
  uploads: number;
  rejectedUploads: number;
  probes: number;
  candidates: number;
  /** Bytes of the accepted encrypted uploads. */
  uploadBytes: number;
  /** Bytes of the encrypted teacher (or averaged parameters, or global patterns), sent once to each participant. */
  teacherBytes: number;
  aggregationMs: number;
  durationMs: number;
  failure: string | null;
  /** Clients that reported metric sums for this round. */
  metricReports: number;
  /** Their metric sums added up, when the coordinator asked for round metrics. */
  metrics: RoundMetrics | null;
}
