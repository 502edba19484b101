// Runs many simulated clients on a bounded pool of host processes, for cross-device federations
// where one process per client would not fit on one machine. Clients are dealt to the hosts in
// turn; each host connects its clients to the coordinator as separate socket.io clients.
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { FedPddSettings } from '@distillate/client';
import { forkTypeScript } from '@distillate/shared';

import { stopProcess } from './child-process-events.js';
import type { HostMessage, HostStart, HostedClient } from './client-host.js';
import type { ClientOutcome } from './federation-run.js';

const require = createRequire(import.meta.url);
const HOST_ENTRY = require.resolve('./client-host.ts');

export interface ClientPoolOptions {
  url: string;
  fingerprint: string;
  algorithm: string;
  settings: FedPddSettings;
  /** Interactions of every client's users. */
  dataFile: string;
  clients: HostedClient[];
  /** Host processes. */
  hosts: number;
  /** Learners that train at once in each host. */
  concurrency: number;
  /** Folder for logs and, while the run lasts, the suspended learners. */
  runDirectory: string;
}

export interface ClientPoolOutcome {
  /** Every client's report, in client order. */
  clients: ClientOutcome[];
  /** Peak resident memory of the largest host process. */
  peakHostMemoryBytes: number;
}

/** Resolves once every client has finished. */
export async function runClientPool(options: ClientPoolOptions): Promise<ClientPoolOutcome> {
  const stateDirectory = path.join(options.runDirectory, 'client-state');
  await mkdir(stateDirectory, { recursive: true });
  const hostCount = Math.max(1, Math.min(options.hosts, options.clients.length));
  const shares = Array.from({ length: hostCount }, (_, host) => options.clients.filter((_, position) => position % hostCount === host));

  const outcomes = new Array<ClientOutcome>(options.clients.length);
  let peakHostMemoryBytes = 0;
  const children = shares.map((clients, host) => {
    const logFile = path.join(options.runDirectory, `client-host-${host + 1}.log`);
    const child = forkTypeScript(HOST_ENTRY, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.pipe(createWriteStream(logFile));
    const done = new Promise<void>((resolve, reject) => {
      child.on('message', (message: HostMessage) => {
        if (message.type === 'finished') {
          outcomes[message.index] = { clientId: message.clientId, dataFile: options.dataFile, report: message.report };
        } else if (message.type === 'failed') {
          reject(new Error(`Simulated client ${message.index + 1} failed: ${message.error}. See ${logFile}.`));
        } else {
          peakHostMemoryBytes = Math.max(peakHostMemoryBytes, message.peakMemoryBytes);
          resolve();
        }
      });
      child.once('exit', (code, signal) => reject(new Error(`Client host ${host + 1} exited (code ${code}, signal ${signal}) before its clients finished. See ${logFile}.`)));
    });
    const start: HostStart = {
      type: 'start',
      url: options.url,
      fingerprint: options.fingerprint,
      algorithm: options.algorithm,
      settings: options.settings,
      dataFile: options.dataFile,
      clients,
      stateDirectory,
      concurrency: options.concurrency,
    };
    child.send(start);
    return { child, done };
  });

  try {
    await Promise.all(children.map(({ done }) => done));
    return { clients: outcomes, peakHostMemoryBytes };
  } finally {
    children.forEach(({ child }) => stopProcess(child));
    await rm(stateDirectory, { recursive: true, force: true });
  }
}
