// A client process killed with SIGKILL between rounds and started again on its state folder
// keeps its id, restores its students from the checkpoint, and finishes the federation.
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Coordinator } from '@distillate/server';
import { BUILT_IN_DATASETS, type EvaluationReport, buildDataset, createIdentity, forkTypeScript, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';

import { ScriptedClient, until } from './scripted-client.js';
import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

const require = createRequire(import.meta.url);
const CLIENT_ENTRY = require.resolve('@distillate/client/main');

describe('client restart', () => {
  it('goes on from its checkpoint with the same id', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-client-restart-'));
    const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
    const dataFile = path.join(folder, 'client-data.csv');
    await writeFile(dataFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 12)));
    const settingsFile = path.join(folder, 'fedpdd.json');
    await writeFile(settingsFile, JSON.stringify(SMALL_FEDPDD_SETTINGS));
    const stateFolder = path.join(folder, 'client-state');

    const coordinator = new Coordinator({
      ...SMALL_COORDINATOR_SETTINGS,
      itemIds: dataset.itemIds,
      rounds: 2,
      minClients: 2,
      roundTimeoutMs: 60_000,
      reportTimeoutMs: 60_000,
      logger: pino({ level: 'silent' }),
    });
    const url = await coordinator.start();
    onTestFinished(() => coordinator.stop());
    const registrations: string[] = [];
    coordinator.on('client-registered', ({ clientId }) => registrations.push(clientId));

    const startClient = (name: string) => {
      const child = forkTypeScript(CLIENT_ENTRY, ['--coordinator', url, '--data', dataFile, '--settings', settingsFile, '--state', stateFolder], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      const logFile = path.join(folder, `${name}.log`);
      child.stderr!.pipe(createWriteStream(logFile));
      onTestFinished(() => {
        child.kill('SIGKILL');
      });
      const messages: Array<{ type: string; roundId?: number; report?: EvaluationReport }> = [];
      child.on('message', (message: { type: string }) => messages.push(message));
      return { child, messages, logFile };
    };

    const scripted = new ScriptedClient(url, createIdentity());
    onTestFinished(() => scripted.close());
    expect((await scripted.register()).ok).toBe(true);
    const first = startClient('first');

    // Round 1 runs to its teacher; the client writes its checkpoint once it has learned from it.
    expect(await scripted.upload(await until('round 1', () => scripted.tasks[0]), 1)).toEqual({ ok: true });
    await until('the first teacher', () => first.messages.find((message) => message.type === 'teacher-received'));
    const checkpoint = path.join(stateFolder, 'fedpdd.checkpoint');
    await until('the checkpoint', () => existsSync(checkpoint), 10_000);
    const round2 = await until('round 2', () => scripted.tasks[1]);
    expect(round2.roundId).toBe(2);

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    // The restarted process registers with the same id, is sent round 2's task again, and finishes.
    const second = startClient('second');
    const secondExit = once(second.child, 'exit');
    await until('the second registration', () => registrations.length === 3);
    expect(registrations[2]).toBe(registrations[1]);
    expect(await scripted.upload(round2, 2)).toEqual({ ok: true });
    await until('the report request', () => scripted.completed);
    expect(await scripted.report(2, 3)).toEqual({ ok: true });

    const [code] = await secondExit;
    expect(code, await readFile(second.logFile, 'utf8')).toBe(0);
    const log = await readFile(second.logFile, 'utf8');
    expect(log).toContain('learner restored from its checkpoint');
    expect(log).not.toContain('created a new key file');

    const results = await coordinator.results();
    expect(results.rounds.map((round) => round.uploads)).toEqual([2, 2]);
    expect(Object.keys(results.reports)).toContain(registrations[1]);
    const finished = second.messages.find((message) => message.type === 'finished');
    expect(finished?.report?.bestRound).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('starts afresh in another federation', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-client-restart-'));
    const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
    const dataFile = path.join(folder, 'client-data.csv');
    await writeFile(dataFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 12)));
    const settingsFile = path.join(folder, 'fedpdd.json');
    await writeFile(settingsFile, JSON.stringify(SMALL_FEDPDD_SETTINGS));
    const stateFolder = path.join(folder, 'client-state');

    // Two federations in turn, each with one scripted client beside the client process, which keeps its state folder.
    const logs: string[] = [];
    for (const name of ['first', 'second']) {
      const coordinator = new Coordinator({ ...SMALL_COORDINATOR_SETTINGS, itemIds: dataset.itemIds, rounds: 1, minClients: 2, logger: pino({ level: 'silent' }) });
      const url = await coordinator.start();
      onTestFinished(() => coordinator.stop());
      const scripted = new ScriptedClient(url, createIdentity());
      onTestFinished(() => scripted.close());
      expect((await scripted.register()).ok).toBe(true);

      const logFile = path.join(folder, `${name}.log`);
      const child = forkTypeScript(CLIENT_ENTRY, ['--coordinator', url, '--data', dataFile, '--settings', settingsFile, '--state', stateFolder], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      child.stderr!.pipe(createWriteStream(logFile));
      onTestFinished(() => {
        child.kill('SIGKILL');
      });
      const exited = once(child, 'exit');
      expect(await scripted.upload(await until('the task', () => scripted.tasks[0]), 1)).toEqual({ ok: true });
      await until('the report request', () => scripted.completed);
      expect(await scripted.report(1, 2)).toEqual({ ok: true });
      expect((await exited)[0]).toBe(0);
      logs.push(await readFile(logFile, 'utf8'));
    }

    expect(logs[0]).not.toContain('restored');
    expect(logs[1]).toContain('the checkpoint was written in another federation');
    expect(logs[1]).not.toContain('learner restored from its checkpoint');
  }, 60_000);
});
