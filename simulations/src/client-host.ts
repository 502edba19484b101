// A process that hosts many simulated clients, each a real federation client with its own
// socket.io connection, keys and learner. Learners stay suspended on disk between calls, and a
// gate lets only a few train at once, so the models in memory follow the gate, not the number
// of clients. Started by the client pool with an IPC channel:
//   parent → host: one HostStart message
//   host → parent: 'finished' for each client, or 'failed'; then 'host-finished' with its peak memory
import path from 'node:path';

import { type FedPddSettings, FederationClient, createLearner } from '@distillate/client';
import {
  type EvaluationReport,
  identityFromSeed,
  loadInteractions,
  rowsByUser,
  selectUsers,
  sendToParent,
  stopWithParent,
} from '@distillate/shared';
import pino from 'pino';

import { ConcurrencyGate, suspendingLearner } from './suspending-learner.js';

export interface HostedClient {
  /** Position of the client in the simulation, from 0. */
  index: number;
  /** Users of the data file this client holds. */
  userIds: string[];
  identitySeed: string;
  /** This client's learner settings, when a run mixes students; otherwise the host's. */
  settings?: FedPddSettings;
}

export interface HostStart {
  type: 'start';
  url: string;
  fingerprint: string;
  algorithm: string;
  settings: FedPddSettings;
  /** Interactions of every hosted client's users. */
  dataFile: string;
  clients: HostedClient[];
  /** Folder for the suspended learners' state files. */
  stateDirectory: string;
  /** Learners resumed at once. */
  concurrency: number;
}

export type HostMessage =
  | { type: 'finished'; index: number; clientId: string; report: EvaluationReport }
  | { type: 'failed'; index: number; error: string }
  | { type: 'host-finished'; peakMemoryBytes: number };

async function host(start: HostStart): Promise<void> {
  const logger = pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
  const table = await loadInteractions(start.dataFile);
  const index = rowsByUser(table);

  // NOTE: every hosted client stays connected for the whole federation, and its connection, keys
  // and data cost about 0.5 MiB (411 MiB peak for 300 clients of MovieLens 100K, 736 MiB for 943).
  // Connecting a client only for the rounds it takes part in would bound that part too.
  const gate = new ConcurrencyGate(start.concurrency);
  const clients = start.clients.map((hosted) => {
    const interactions = selectUsers(table, hosted.userIds, index);
    const stateFile = path.join(start.stateDirectory, `client-${hosted.index + 1}.bin`);
    const learner = suspendingLearner(createLearner(start.algorithm, interactions, hosted.settings ?? start.settings, stateFile), gate);
    const client = new FederationClient({
      url: start.url,
      identity: identityFromSeed(hosted.identitySeed),
      learner,
      coordinatorFingerprint: start.fingerprint,
      logger: logger.child({ client: hosted.index + 1 }),
    });
    return { hosted, client };
  });

  const cancelStopWithParent = stopWithParent(() => clients.forEach(({ client }) => client.close()));
  await Promise.all(
    clients.map(async ({ hosted, client }) => {
      try {
        const [, report] = await Promise.all([client.connect(), client.finished()]);
        await sendToParent({ type: 'finished', index: hosted.index, clientId: client.clientId!, report } satisfies HostMessage);
      } catch (error) {
        await sendToParent({ type: 'failed', index: hosted.index, error: error instanceof Error ? error.message : String(error) } satisfies HostMessage);
      } finally {
        client.close();
      }
    }),
  );
  cancelStopWithParent();
  // maxRSS is in kibibytes: the peak resident memory of this process over its life.
  await sendToParent({ type: 'host-finished', peakMemoryBytes: process.resourceUsage().maxRSS * 1024 } satisfies HostMessage);
}

process.once('message', (start: HostStart) => {
  host(start)
    .catch((error: unknown) => console.error(error instanceof Error ? error.message : error))
    .finally(() => process.disconnect());
});
