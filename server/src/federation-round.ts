// One round of the federation and its explicit states:
// open → collecting → aggregating → distributing → closed.
import type { LogitUpload, TransferSet } from '@distillate/shared';

export type RoundState = 'open' | 'collecting' | 'aggregating' | 'distributing' | 'closed';

export class FederationRound {
  state: RoundState = 'open';
  readonly uploads = new Map<string, LogitUpload>();
  readonly openedAt = Date.now();
  closedAt: number | null = null;
  rejectedUploads = 0;
  uploadBytes = 0;
  teacherBytes = 0;
  aggregationMs = 0;
  /** Why the round closed without a teacher, or null when it produced one. */
  failure: string | null = null;

  private settle: (() => void) | null = null;
  private readonly allUploaded: Promise<void>;

  constructor(
    readonly roundId: number,
    readonly transferSet: TransferSet,
    /** Clients sent the task when the round opened. */
    readonly participants: ReadonlySet<string>,
    /** Unix time in milliseconds after which no upload is accepted. */
    readonly deadline: number,
  ) {
    this.allUploaded = new Promise((resolve) => (this.settle = resolve));
  }

  get probes(): number {
    return this.transferSet.probeOffsets.length - 1;
  }

  get candidates(): number {
    return this.transferSet.candidates.length;
  }

  acceptUpload(clientId: string, upload: LogitUpload, bytes: number): void {
    this.uploads.set(clientId, upload);
    this.uploadBytes += bytes;
    if ([...this.participants].every((participant) => this.uploads.has(participant))) this.settle?.();
  }

  /** Resolves once every participant has uploaded, or when the deadline passes. */
  async waitForUploads(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadlinePassed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, this.deadline - Date.now()));
    });
    await Promise.race([this.allUploaded, deadlinePassed]);
    clearTimeout(timer);
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
      uploads: this.uploads.size,
      rejectedUploads: this.rejectedUploads,
      probes: this.probes,
      candidates: this.candidates,
      uploadBytes: this.uploadBytes,
      teacherBytes: this.teacherBytes,
      aggregationMs: this.aggregationMs,
      durationMs: (this.closedAt ?? Date.now()) - this.openedAt,
      failure: this.failure,
    };
  }
}

export interface RoundSummary {
  roundId: number;
  state: RoundState;
  participants: number;
  uploads: number;
  rejectedUploads: number;
  probes: number;
  candidates: number;
  /** Bytes of the accepted encrypted uploads. */
  uploadBytes: number;
  /** Bytes of the encrypted teacher, sent once to each participant. */
  teacherBytes: number;
  aggregationMs: number;
  durationMs: number;
  failure: string | null;
}
