// A coordinator process is killed with SIGKILL in the middle of a round and started again on the
// same database and key file. The round resumes with the upload it had accepted, the client
// process reconnects by itself, and the federation finishes.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  BUILT_IN_DATASETS,
  type EvaluationReport,
  buildDataset,
  createIdentity,
  forkTypeScript,
  formatInteractionsCsv,
  loadInteractions,
} from '@distillate/shared';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';

import { ScriptedClient, until } from './scripted-client.js';
import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

const require = createRequire(import.meta.url);
const COORDINATOR_ENTRY = require.resolve('@distillate/server/main');
const CLIENT_ENTRY = require.resolve('@distillate/client/main');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

type CoordinatorMessage = { type: string; url?: string; fingerprint?: string; clientId?: string; uploads?: number; results?: { rounds: Array<{ uploads: number; failure: string | null }>; reports: object } };

describe('coordinator restart', () => {
  it('resumes a round after SIGKILL with every accepted upload', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-restart-'));
    const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
    const dataFile = path.join(folder, 'client-data.csv');
    await writeFile(dataFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 12)));
    const settingsFile = path.join(folder, 'fedpdd.json');
    await writeFile(settingsFile, JSON.stringify(SMALL_FEDPDD_SETTINGS));
    const configFile = path.join(folder, 'coordinator.json');
    await writeFile(
      configFile,
      JSON.stringify({
        ...SMALL_COORDINATOR_SETTINGS,
        itemIds: dataset.itemIds,
        host: '127.0.0.1',
        port: await freePort(),
        rounds: 1,
        minClients: 2,
        roundTimeoutMs: 300_000,
        reportTimeoutMs: 300_000,
        database: path.join(folder, 'coordinator.db'),
        identityFile: path.join(folder, 'coordinator-identity.json'),
        enrollment: { mode: 'open' },
      }),
    );

    const messages: CoordinatorMessage[] = [];
    const startCoordinator = async (name: string) => {
      const child = forkTypeScript(COORDINATOR_ENTRY, ['--config', configFile, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      child.stderr!.pipe(createWriteStream(path.join(folder, `${name}.log`)));
      onTestFinished(() => {
        child.kill('SIGKILL');
      });
      child.on('message', (message: CoordinatorMessage) => messages.push({ ...message, type: `${name}:${message.type}` }));
      const listening = await until(`${name} to listen`, () => messages.find((message) => message.type === `${name}:listening`));
      return { child, url: listening.url!, fingerprint: listening.fingerprint! };
    };

    // The first coordinator, a scripted client that will not upload before the restart, and a real client process.
    const first = await startCoordinator('first');
    const scriptedIdentity = createIdentity();
    const scripted = new ScriptedClient(first.url, scriptedIdentity);
    expect((await scripted.register()).ok).toBe(true);

    const client = forkTypeScript(
      CLIENT_ENTRY,
      ['--coordinator', first.url, '--data', dataFile, '--fingerprint', first.fingerprint, '--settings', settingsFile, '--state', path.join(folder, 'client-state')],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    const clientLog = path.join(folder, 'client.log');
    client.stderr!.pipe(createWriteStream(clientLog));
    onTestFinished(() => {
      client.kill('SIGKILL');
    });
    const clientExit = once(client, 'exit');
    const clientMessages: Array<{ type: string; report?: EvaluationReport }> = [];
    client.on('message', (message: { type: string }) => clientMessages.push(message));

    // Kill the coordinator once it has accepted the real client's upload, with the scripted client's still missing.
    await until('the first upload', () => messages.find((message) => message.type === 'first:upload-accepted'));
    expect(scripted.tasks.map((task) => task.roundId)).toEqual([1]);
    first.child.kill('SIGKILL');
    const [, signal] = await once(first.child, 'exit');
    expect(signal).toBe('SIGKILL');
    scripted.close();

    // The second coordinator starts on the same database and key file, with the accepted upload restored.
    const second = await startCoordinator('second');
    expect(second.url).toBe(first.url);
    expect(second.fingerprint).toBe(first.fingerprint);
    const status = (await (await fetch(`${second.url}/api/status`)).json()) as { round: object; clientsRegistered: number };
    expect(status.round).toMatchObject({ roundId: 1, state: 'collecting', uploads: 1, participants: 2 });
    expect(status.clientsRegistered).toBe(2);

    // The scripted client reconnects with the same keys and is sent the round's task again.
    const again = new ScriptedClient(second.url, scriptedIdentity);
    onTestFinished(() => again.close());
    const reply = await again.register();
    expect(reply).toMatchObject({ ok: true, clientId: scripted.clientId, lastSequence: 0 });
    const task = await until('the task sent again', () => again.tasks[0]);
    expect(task.roundId).toBe(1);
    expect(await again.upload(task, 1)).toEqual({ ok: true });

    // The round closes with both uploads, and the client process, reconnected by itself, gets the teacher and reports.
    const closed = await until('the round to close', () => messages.find((message) => message.type === 'second:round-closed'));
    expect(closed).toMatchObject({ roundId: 1, uploads: 2, failure: null });
    await until('the scripted client to be asked for its report', () => again.completed);
    expect(again.teachers).toEqual([1]);
    expect(await again.report(1, 2)).toEqual({ ok: true });

    const [code] = await clientExit;
    expect(code, await readFile(clientLog, 'utf8')).toBe(0);
    const finished = clientMessages.find((message) => message.type === 'finished');
    expect(finished?.report?.test.full.users).toBeGreaterThan(0);
    const log = (await readFile(clientLog, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string });
    expect(log.filter((line) => line.msg === 'registered').length).toBeGreaterThanOrEqual(2);

    const results = await until('the results', () => messages.find((message) => message.type === 'second:results'));
    expect(results.results!.rounds).toEqual([expect.objectContaining({ uploads: 2, failure: null })]);
    expect(Object.keys(results.results!.reports)).toHaveLength(2);

    // The database keeps the round's teacher, the reports and the audit trail, and drops the uploads of the closed round.
    const database = new Database(path.join(folder, 'coordinator.db'), { readonly: true });
    onTestFinished(() => {
      database.close();
    });
    const count = (sql: string) => (database.prepare(sql).get() as { count: number }).count;
    expect(count("SELECT COUNT(*) AS count FROM rounds WHERE state = 'closed' AND teacher IS NOT NULL")).toBe(1);
    expect(count('SELECT COUNT(*) AS count FROM uploads')).toBe(0);
    expect(count('SELECT COUNT(*) AS count FROM reports')).toBe(2);
    expect(count("SELECT COUNT(*) AS count FROM audit_log WHERE event = 'client-reconnected'")).toBe(2);

    // A coordinator started again on the finished federation's database refuses, rather than waiting for clients in vain.
    const third = forkTypeScript(COORDINATOR_ENTRY, ['--config', configFile], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    third.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [thirdCode] = await once(third, 'exit');
    expect(thirdCode).toBe(1);
    expect(stderr).toContain('contains a federation that finished');
  }, 120_000);
});
