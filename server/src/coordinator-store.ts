// The coordinator's persistent state in an embedded SQLite database (better-sqlite3): the
// client registry, the rounds with their transfer sets and teachers, the accepted uploads of the
// open round as they arrived (still encrypted to the coordinator's key), round metrics,
// evaluation reports, used enrollment tokens and an audit log.
//
// Each accepted upload is committed before the client is told it was accepted. The database
// runs in WAL mode, so a committed transaction survives the coordinator process being killed.
// NOTE: synchronous=NORMAL can lose the last transactions if the machine itself loses power;
// set synchronous=FULL in the database if that matters more than upload latency.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { RoundState } from './federation-round.js';

const SCHEMA_VERSION = 1;

export interface StoredClient {
  clientId: string;
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  exampleCount: number;
  lastSequence: number;
  bytesReceived: number;
  enrolledBy: string;
}

export interface StoredRound {
  roundId: number;
  state: RoundState;
  participants: string[];
  /** Clients whose upload the round accepted. */
  uploaders: string[];
  deadline: number;
  openedAt: number;
  closedAt: number | null;
  transferSet: { probeOffsets: Uint8Array; probeItems: Uint8Array; candidates: Uint8Array } | null;
  failure: string | null;
  rejectedUploads: number;
  uploadBytes: number;
  teacherBytes: number;
  aggregationMs: number;
  teacher: { ciphertext: Uint8Array; roundKey: Uint8Array } | null;
  /** The transfer-set sampler's state after the round closed. */
  samplerState: Uint8Array | null;
}

export interface StoredUpload {
  clientId: string;
  /** The sealed upload as the client sent it. */
  sealed: Uint8Array;
  bytes: number;
}

export interface AuditEntry {
  at: string;
  event: string;
  clientId: string | null;
  roundId: number | null;
  detail: unknown;
}

export class CoordinatorStore {
  private readonly db: Database.Database;

  /** Opens (or creates) the database file; ':memory:' keeps it in memory, for tests and simulations. */
  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (error) {
      throw new Error(`Cannot open the coordinator database ${file}: ${(error as Error).message}. Check the path and its permissions.`);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `The coordinator database ${this.file} has schema version ${version}, newer than this coordinator's ${SCHEMA_VERSION}. ` +
          'Update the coordinator, or give it a new database file.',
      );
    }
    if (version === SCHEMA_VERSION) return;

    this.db.exec(`
      CREATE TABLE federation (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        signing_public_key BLOB NOT NULL,
        box_public_key BLOB NOT NULL,
        example_count INTEGER NOT NULL,
        last_sequence INTEGER NOT NULL,
        bytes_received INTEGER NOT NULL,
        enrolled_by TEXT NOT NULL,
        enrolled_at TEXT NOT NULL
      );
      CREATE TABLE rounds (
        round_id INTEGER PRIMARY KEY,
        state TEXT NOT NULL,
        participants TEXT NOT NULL,
        uploaders TEXT NOT NULL DEFAULT '[]',
        deadline INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        probe_offsets BLOB,
        probe_items BLOB,
        candidates BLOB,
        failure TEXT,
        rejected_uploads INTEGER NOT NULL DEFAULT 0,
        upload_bytes INTEGER NOT NULL DEFAULT 0,
        teacher_bytes INTEGER NOT NULL DEFAULT 0,
        aggregation_ms REAL NOT NULL DEFAULT 0,
        teacher BLOB,
        round_key BLOB,
        sampler_state BLOB
      );
      CREATE TABLE uploads (
        round_id INTEGER NOT NULL REFERENCES rounds(round_id),
        client_id TEXT NOT NULL REFERENCES clients(client_id),
        sealed BLOB NOT NULL,
        bytes INTEGER NOT NULL,
        accepted_at TEXT NOT NULL,
        PRIMARY KEY (round_id, client_id)
      );
      CREATE TABLE round_metrics (
        round_id INTEGER NOT NULL REFERENCES rounds(round_id),
        client_id TEXT NOT NULL,
        metrics TEXT NOT NULL,
        PRIMARY KEY (round_id, client_id)
      );
      CREATE TABLE reports (client_id TEXT PRIMARY KEY, report TEXT NOT NULL);
      CREATE TABLE used_tokens (token_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, used_at TEXT NOT NULL);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        client_id TEXT,
        round_id INTEGER,
        detail TEXT
      );
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  }

  /**
   * Records the settings that define this federation, or checks them against those already
   * recorded: a database belongs to one federation, and resuming it with another catalog or
   * codec would mix incompatible rounds.
   */
  bindFederation(settings: Record<string, unknown>): void {
    const stored = this.db.prepare(`SELECT key, value FROM federation WHERE key NOT IN ('federationId', 'finishedAt')`).all() as Array<{
      key: string;
      value: string;
    }>;
    if (stored.length === 0) {
      const insert = this.db.prepare('INSERT INTO federation (key, value) VALUES (?, ?)');
      this.db.transaction(() => {
        for (const [key, value] of Object.entries(settings)) insert.run(key, JSON.stringify(value));
        insert.run('federationId', JSON.stringify(randomBytes(16).toString('hex')));
      })();
      return;
    }

    const storedSettings = new Map(stored.map(({ key, value }) => [key, value]));
    const changed = Object.entries(settings)
      .filter(([key, value]) => storedSettings.get(key) !== JSON.stringify(value))
      .map(([key]) => key);
    if (changed.length > 0) {
      throw new Error(
        `The coordinator database ${this.file} contains a federation with other settings (${changed.join(', ')} differ). ` +
          'Start with the settings it was created with to resume it, or give a new database file to start a new federation.',
      );
    }
  }

  /** Random id of the federation this database holds, drawn when the database was created; clients tie their checkpoints to it. */
  federationId(): string {
    const row = this.db.prepare(`SELECT value FROM federation WHERE key = 'federationId'`).get() as { value: string } | undefined;
    return JSON.parse(row!.value) as string;
  }

  /** Records that the federation finished, so that a coordinator started on this database again does not wait for clients in vain. */
  markFinished(): void {
    this.db.prepare(`INSERT OR REPLACE INTO federation (key, value) VALUES ('finishedAt', ?)`).run(JSON.stringify(new Date().toISOString()));
  }

  /** When the federation finished, or null while it runs. */
  finishedAt(): string | null {
    const row = this.db.prepare(`SELECT value FROM federation WHERE key = 'finishedAt'`).get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as string) : null;
  }

  clients(): StoredClient[] {
    const rows = this.db.prepare('SELECT * FROM clients ORDER BY client_id').all() as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      clientId: row.client_id as string,
      signingPublicKey: new Uint8Array(row.signing_public_key as Buffer),
      boxPublicKey: new Uint8Array(row.box_public_key as Buffer),
      exampleCount: row.example_count as number,
      lastSequence: row.last_sequence as number,
      bytesReceived: row.bytes_received as number,
      enrolledBy: row.enrolled_by as string,
    }));
  }

  saveClient(client: StoredClient): void {
    this.db
      .prepare(
        `INSERT INTO clients (client_id, signing_public_key, box_public_key, example_count, last_sequence, bytes_received, enrolled_by, enrolled_at)
         VALUES (@clientId, @signingPublicKey, @boxPublicKey, @exampleCount, @lastSequence, @bytesReceived, @enrolledBy, @at)
         ON CONFLICT (client_id) DO UPDATE SET
           box_public_key = excluded.box_public_key,
           example_count = excluded.example_count,
           last_sequence = excluded.last_sequence,
           bytes_received = excluded.bytes_received`,
      )
      .run({ ...client, signingPublicKey: Buffer.from(client.signingPublicKey), boxPublicKey: Buffer.from(client.boxPublicKey), at: new Date().toISOString() });
  }

  /** Marks a one-time enrollment token used; returns false when it was used before. */
  useToken(tokenHash: string, clientId: string): boolean {
    const result = this.db
      .prepare('INSERT INTO used_tokens (token_hash, client_id, used_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(tokenHash, clientId, new Date().toISOString());
    return result.changes === 1;
  }

  saveRound(round: StoredRound): void {
    this.db
      .prepare(
        `INSERT INTO rounds (round_id, state, participants, uploaders, deadline, opened_at, closed_at, probe_offsets, probe_items, candidates,
                             failure, rejected_uploads, upload_bytes, teacher_bytes, aggregation_ms, teacher, round_key, sampler_state)
         VALUES (@roundId, @state, @participants, @uploaders, @deadline, @openedAt, @closedAt, @probeOffsets, @probeItems, @candidates,
                 @failure, @rejectedUploads, @uploadBytes, @teacherBytes, @aggregationMs, @teacher, @roundKey, @samplerState)
         ON CONFLICT (round_id) DO UPDATE SET
           state = excluded.state, uploaders = excluded.uploaders, deadline = excluded.deadline, closed_at = excluded.closed_at, failure = excluded.failure,
           rejected_uploads = excluded.rejected_uploads, upload_bytes = excluded.upload_bytes, teacher_bytes = excluded.teacher_bytes,
           aggregation_ms = excluded.aggregation_ms, teacher = excluded.teacher, round_key = excluded.round_key,
           sampler_state = excluded.sampler_state`,
      )
      .run({
        roundId: round.roundId,
        state: round.state,
        participants: JSON.stringify(round.participants),
        uploaders: JSON.stringify(round.uploaders),
        deadline: round.deadline,
        openedAt: round.openedAt,
        closedAt: round.closedAt,
        probeOffsets: blob(round.transferSet?.probeOffsets),
        probeItems: blob(round.transferSet?.probeItems),
        candidates: blob(round.transferSet?.candidates),
        failure: round.failure,
        rejectedUploads: round.rejectedUploads,
        uploadBytes: round.uploadBytes,
        teacherBytes: round.teacherBytes,
        aggregationMs: round.aggregationMs,
        teacher: blob(round.teacher?.ciphertext),
        roundKey: blob(round.teacher?.roundKey),
        samplerState: blob(round.samplerState ?? undefined),
      });
  }

  rounds(): StoredRound[] {
    const rows = this.db.prepare('SELECT * FROM rounds ORDER BY round_id').all() as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      roundId: row.round_id as number,
      state: row.state as RoundState,
      participants: JSON.parse(row.participants as string) as string[],
      uploaders: JSON.parse(row.uploaders as string) as string[],
      deadline: row.deadline as number,
      openedAt: row.opened_at as number,
      closedAt: (row.closed_at as number | null) ?? null,
      transferSet:
        row.candidates === null
          ? null
          : { probeOffsets: bytes(row.probe_offsets), probeItems: bytes(row.probe_items), candidates: bytes(row.candidates) },
      failure: (row.failure as string | null) ?? null,
      rejectedUploads: row.rejected_uploads as number,
      uploadBytes: row.upload_bytes as number,
      teacherBytes: row.teacher_bytes as number,
      aggregationMs: row.aggregation_ms as number,
      teacher: row.teacher === null ? null : { ciphertext: bytes(row.teacher), roundKey: bytes(row.round_key) },
      samplerState: row.sampler_state === null ? null : bytes(row.sampler_state),
    }));
  }

  /**
   * Commits an accepted upload together with the client's new sequence number and byte count,
   * in one transaction, so that a restart never reads one without the other.
   */
  acceptUpload(roundId: number, client: StoredClient, upload: StoredUpload, roundUploadBytes: number): void {
    this.db.transaction(() => {
      // An in-memory database does not outlive the process, so a copy of the upload there would only double its memory.
      if (this.file !== ':memory:') {
        this.db
          .prepare('INSERT INTO uploads (round_id, client_id, sealed, bytes, accepted_at) VALUES (?, ?, ?, ?, ?)')
          .run(roundId, upload.clientId, Buffer.from(upload.sealed), upload.bytes, new Date().toISOString());
      }
      this.db.prepare('UPDATE rounds SET upload_bytes = ? WHERE round_id = ?').run(roundUploadBytes, roundId);
      this.saveClient(client);
    })();
  }

  /** Deletes the uploads of a closed round: its teacher is stored, and a restart never aggregates that round again. */
  discardUploads(roundId: number): void {
    this.db.prepare('DELETE FROM uploads WHERE round_id = ?').run(roundId);
  }

  uploads(roundId: number): StoredUpload[] {
    const rows = this.db.prepare('SELECT client_id, sealed, bytes FROM uploads WHERE round_id = ? ORDER BY client_id').all(roundId) as Array<
      Record<string, unknown>
    >;
    return rows.map((row) => ({ clientId: row.client_id as string, sealed: bytes(row.sealed), bytes: row.bytes as number }));
  }

  saveRoundMetrics(roundId: number, clientId: string, metrics: unknown, client: StoredClient): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO round_metrics (round_id, client_id, metrics) VALUES (?, ?, ?)').run(roundId, clientId, JSON.stringify(metrics));
      this.saveClient(client);
    })();
  }

  roundMetrics(roundId: number): Array<{ clientId: string; metrics: unknown }> {
    const rows = this.db.prepare('SELECT client_id, metrics FROM round_metrics WHERE round_id = ?').all(roundId) as Array<Record<string, string>>;
    return rows.map((row) => ({ clientId: row.client_id, metrics: JSON.parse(row.metrics) }));
  }

  saveReport(clientId: string, report: unknown, client: StoredClient): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO reports (client_id, report) VALUES (?, ?)').run(clientId, JSON.stringify(report));
      this.saveClient(client);
    })();
  }

  reports(): Array<{ clientId: string; report: unknown }> {
    const rows = this.db.prepare('SELECT client_id, report FROM reports ORDER BY client_id').all() as Array<Record<string, string>>;
    return rows.map((row) => ({ clientId: row.client_id, report: JSON.parse(row.report) }));
  }

  /** Appends to the audit log: registrations, enrollments, rejections and round transitions. */
  audit(event: string, clientId: string | null, roundId: number | null, detail: unknown = null): void {
    this.db
      .prepare('INSERT INTO audit_log (at, event, client_id, round_id, detail) VALUES (?, ?, ?, ?, ?)')
      .run(new Date().toISOString(), event, clientId, roundId, detail === null ? null : JSON.stringify(detail));
  }

  auditLog(limit = 1000): AuditEntry[] {
    const rows = this.db.prepare('SELECT at, event, client_id, round_id, detail FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as Array<
      Record<string, unknown>
    >;
    return rows.reverse().map((row) => ({
      at: row.at as string,
      event: row.event as string,
      clientId: (row.client_id as string | null) ?? null,
      roundId: (row.round_id as number | null) ?? null,
      detail: row.detail === null ? null : JSON.parse(row.detail as string),
    }));
  }
}

function blob(value: Uint8Array | undefined): Buffer | null {
  return value === undefined ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Copies a BLOB column into a Uint8Array with its own buffer, so that typed-array views over it are aligned. */
function bytes(value: unknown): Uint8Array {
  return Uint8Array.from(value as Buffer);
}
