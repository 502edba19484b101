// Runs a federation as separate processes on this machine: one coordinator and one process per
// client, talking only over socket.io on 127.0.0.1.
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { FedPddSettings } from '@distillate/client';
import type { CoordinatorConfig, FederationResults, RoundSummary } from '@distillate/server';
import { type EvaluationReport, forkTypeScript } from '@distillate/shared';

import { nextMessage, stopProcess } from './child-process-events.js';
import type { HostedClient } from './client-host.js';
import { runClientPool } from './client-pool.js';

const require = createRequire(import.meta.url);
const COORDINATOR_ENTRY = require.resolve('@distillate/server/main');
const CLIENT_ENTRY = require.resolve('@distillate/client/main');

export interface FederationRunOptions {
  runDirectory: string;
  itemIds: string[];
  /** One interaction file per client. */
  clientDataFiles: string[];
  coordinator: Partial<CoordinatorConfig>;
  fedpdd: Partial<FedPddSettings>;
  /**
   * Host the clients on a bounded pool of processes instead of one process each (cross-device).
   * clientDataFiles is then ignored, because the pool's data file contains every client's users.
   */
  pool?: { dataFile: string; clients: HostedClient[]; hosts: number; concurrency: number };
  /** Per-client learner settings, overriding `fedpdd` for client i with entry i; mixes students in one run. */
  clientSettings?: Array<Partial<FedPddSettings>>;
  /** Algorithm the clients run: fedpdd, fedmd, dsfl, fedavg or fedsplit. Default: fedpdd. */
  algorithm?: string;
  seed: number;
  onProgress?: (progress: FederationProgress) => void;
}

export interface FederationProgress {
  round: number;
  rounds: number;
  uploads: number;
  clients: number;
  phase: 'registering' | 'training' | 'reporting' | 'finished';
}

export interface ClientOutcome {
  clientId: string;
  dataFile: string;
  report: EvaluationReport;
}

export interface FederationOutcome {
  fingerprint: string;
  results: FederationResults;
  clients: ClientOutcome[];
  /** Peak resident memory of the largest client host, when the clients ran in a pool. */
  peakHostMemoryBytes?: number;
}

export async function runFederation(options: FederationRunOptions): Promise<FederationOutcome> {
  const rounds = options.coordinator.rounds ?? 10;
  const clientCount = options.pool?.clients.length ?? options.clientDataFiles.length;
  const progress: FederationProgress = { round: 0, rounds, uploads: 0, clients: clientCount, phase: 'registering' };
  const report = (): void => options.onProgress?.({ ...progress });

  const coordinatorConfigFile = path.join(options.runDirectory, 'coordinator.json');
  // A simulated federation lives for one run: fresh keys, state in memory, and every simulated client admitted.
  await writeFile(
    coordinatorConfigFile,
    JSON.stringify({
      ...options.coordinator,
      itemIds: options.itemIds,
      minClients: clientCount,
      host: '127.0.0.1',
      port: 0,
      database: null,
      identityFile: null,
      enrollment: { mode: 'open' },
    }),
  );
  const settingsFiles = await Promise.all(
    options.clientDataFiles.map(async (_, index) => {
      const own = options.clientSettings?.[index];
      if (own === undefined) return path.join(options.runDirectory, 'fedpdd.json');
      const file = path.join(options.runDirectory, `client-${index + 1}-settings.json`);
      await writeFile(file, JSON.stringify(own, null, 2));
      return file;
    }),
  );
  await writeFile(path.join(options.runDirectory, 'fedpdd.json'), JSON.stringify(options.fedpdd, null, 2));

  const coordinatorLog = path.join(options.runDirectory, 'coordinator.log');
  const coordinator = forkTypeScript(COORDINATOR_ENTRY, ['--config', coordinatorConfigFile, '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  coordinator.stderr!.pipe(createWriteStream(coordinatorLog));
  const children = [coordinator];

  try {
    const listening = await nextMessage<{ type: 'listening'; url: string; fingerprint: string }>(coordinator, 'listening', 'coordinator', coordinatorLog);
    coordinator.on('message', (message: { type: string; roundId?: number; uploads?: number; participants?: number }) => {
      if (message.type === 'round-opened') {
        progress.round = message.roundId!;
        progress.uploads = 0;
        progress.clients = message.participants!;
        progress.phase = 'training';
      } else if (message.type === 'upload-accepted') {
        progress.uploads = message.uploads!;
      } else if (message.type === 'round-closed' && (message as unknown as RoundSummary).roundId === rounds) {
        progress.phase = 'reporting';
      } else {
        return;
      }
      report();
    });
    const results = nextMessage<{ type: 'results'; results: FederationResults }>(coordinator, 'results', 'coordinator', coordinatorLog);
    // Awaited only once the clients finish; until then a coordinator that exits early must not
    // crash the process with an unhandled rejection. The await below still receives the error.
    results.catch(() => {});

    report();
    if (options.pool) {
      const pooled = await runClientPool({
        ...options.pool,
        url: listening.url,
        fingerprint: listening.fingerprint,
        algorithm: options.algorithm ?? 'fedpdd',
        settings: { ...(options.fedpdd as FedPddSettings), seed: options.seed },
        runDirectory: options.runDirectory,
      });
      return { ...(await finish(pooled.clients)), peakHostMemoryBytes: pooled.peakHostMemoryBytes };
    }

    const clientRuns = options.clientDataFiles.map((dataFile, index) => {
      const logFile = path.join(options.runDirectory, `client-${index + 1}.log`);
      const child = forkTypeScript(
        CLIENT_ENTRY,
        ['--coordinator', listening.url, '--data', dataFile, '--fingerprint', listening.fingerprint, '--algorithm', options.algorithm ?? 'fedpdd', '--settings', settingsFiles[index], '--seed', String(options.seed), '--identity-seed', `simulation-${options.seed}-client-${index + 1}`, '--log-level', 'info'],
        { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
      );
      child.stderr!.pipe(createWriteStream(logFile));
      children.push(child);
      return nextMessage<{ type: 'finished'; clientId: string; report: EvaluationReport }>(child, 'finished', `client ${index + 1}`, logFile).then(
        (finished) => ({ clientId: finished.clientId, dataFile, report: finished.report }),
      );
    });
    return await finish(await Promise.all(clientRuns));

    async function finish(clients: ClientOutcome[]): Promise<FederationOutcome> {
      const outcome = { fingerprint: listening.fingerprint, results: (await results).results, clients };
      progress.phase = 'finished';
      report();
      return outcome;
    }
  } finally {
    children.forEach(stopProcess);
  }
}
