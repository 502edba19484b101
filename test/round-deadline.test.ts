// A client process killed with SIGKILL in the middle of a round: the round closes at its
// deadline with the uploads it has, or fails there when they are below the quorum.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Coordinator, type RoundSummary } from '@distillate/server';
import { BUILT_IN_DATASETS, buildDataset, createIdentity, forkTypeScript, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';

import { ScriptedClient, until } from './scripted-client.js';
import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

const require = createRequire(import.meta.url);
const CLIENT_ENTRY = require.resolve('@distillate/client/main');
const ROUND_TIMEOUT_MS = 2_000;

/** Runs one round with a scripted client that uploads and a client process killed while it trains; returns the round. */
async function roundWithKilledClient(quorum: number): Promise<{ round: RoundSummary; openedAt: number; closedAt: number; stillServing: boolean }> {
  const folder = await mkdtemp(path.join(tmpdir(), 'distillate-deadline-'));
  const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
  const dataFile = path.join(folder, 'client-data.csv');
  await writeFile(dataFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 12)));
  // Warm-up long enough that the process is still training when it is killed.
  const settingsFile = path.join(folder, 'fedpdd.json');
  await writeFile(settingsFile, JSON.stringify({ ...SMALL_FEDPDD_SETTINGS, warmupEpochs: 1_000 }));

  const coordinator = new Coordinator({
    ...SMALL_COORDINATOR_SETTINGS,
    itemIds: dataset.itemIds,
    rounds: 1,
    minClients: 2,
    quorum,
    roundTimeoutMs: ROUND_TIMEOUT_MS,
    reportTimeoutMs: 1_000,
    logger: pino({ level: 'silent' }),
  });
  const url = await coordinator.start();
  onTestFinished(() => coordinator.stop());
  let openedAt = 0;
  let closedAt = 0;
  coordinator.on('round-opened', () => (openedAt = Date.now()));
  coordinator.on('round-closed', () => (closedAt = Date.now()));

  const scripted = new ScriptedClient(url, createIdentity());
  onTestFinished(() => scripted.close());
  expect((await scripted.register()).ok).toBe(true);

  const client = forkTypeScript(
    CLIENT_ENTRY,
    ['--coordinator', url, '--data', dataFile, '--settings', settingsFile, '--state', path.join(folder, 'client-state')],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  client.stderr!.pipe(createWriteStream(path.join(folder, 'client.log')));
  onTestFinished(() => {
    client.kill('SIGKILL');
  });

  const task = await until('the round task', () => scripted.tasks[0]);
  expect(await scripted.upload(task, 1)).toEqual({ ok: true });
  client.kill('SIGKILL');
  await once(client, 'exit');

  const results = await coordinator.results();
  const stillServing = (await fetch(`${url}/healthz`)).ok;
  return { round: results.rounds[0], openedAt, closedAt, stillServing };
}

describe('round deadline', () => {
  it('closes a round a killed client left, at its deadline', async () => {
    const { round, openedAt, closedAt, stillServing } = await roundWithKilledClient(1);

    expect(round).toMatchObject({ participants: 2, uploads: 1, failure: null, state: 'closed' });
    expect(round.teacherBytes).toBeGreaterThan(0);
    expect(closedAt - openedAt).toBeGreaterThanOrEqual(ROUND_TIMEOUT_MS - 50);
    expect(closedAt - openedAt).toBeLessThan(ROUND_TIMEOUT_MS + 1_500);
    expect(stillServing).toBe(true);
  }, 30_000);

  it('fails a round below its quorum at the deadline', async () => {
    const { round, openedAt, closedAt } = await roundWithKilledClient(2);

    expect(round).toMatchObject({ participants: 2, quorum: 2, uploads: 1, teacherBytes: 0, state: 'closed' });
    expect(round.failure).toBe('quorum not reached: 1 uploads before the deadline, 2 needed');
    expect(closedAt - openedAt).toBeLessThan(ROUND_TIMEOUT_MS + 1_500);
  }, 30_000);
});
