import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { forkTypeScript } from '@distillate/shared';
import { describe, expect, it, onTestFinished } from 'vitest';

const require = createRequire(import.meta.url);
const COORDINATOR_ENTRY = require.resolve('../src/main.ts');

describe('coordinator process', () => {
  it('stops when its parent process exits', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-coordinator-'));
    const configFile = path.join(folder, 'coordinator.json');
    const itemIds = Array.from({ length: 20 }, (_, index) => String(index));
    const config = {
      host: '127.0.0.1',
      port: 0,
      minClients: 1,
      rounds: 1,
      probesPerRound: 4,
      candidatesPerRound: 10,
      itemIds,
      database: null,
      identityFile: null,
      enrollment: { mode: 'open' },
    };
    await writeFile(configFile, JSON.stringify(config));

    const child = forkTypeScript(COORDINATOR_ENTRY, ['--config', configFile, '--log-level', 'error'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    onTestFinished(() => {
      child.kill();
    });
    const exited = once(child, 'exit');
    const firstMessage = once(child, 'message') as Promise<[{ type: string; url: string }]>;
    const [listening] = await Promise.race([
      firstMessage,
      exited.then(([code]) => {
        throw new Error(`The coordinator exited with code ${String(code)} before listening.`);
      }),
    ]);
    expect(listening.type).toBe('listening');
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // When its parent exits, the coordinator observes the IPC channel closing, as here.
    child.disconnect();
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(code).toBeNull();
    expect(signal).toBe('SIGTERM');
  });
});

describe('coordinator command line', () => {
  it.each([
    ['a zero --rounds', ['--rounds', '0'], '--rounds is "0"; expected an integer of at least 1.'],
    ['a --port out of range', ['--port', '70000'], '--port is "70000"; expected an integer between 0 and 65535.'],
    ['a config file with invalid JSON', ['--config', 'BROKEN'], 'Invalid JSON in the config file'],
    ['a misspelt setting in the config file', ['--config', 'TYPO'], 'Unknown setting "roundTimeout" in the config file'],
    ['a setting of the wrong type', ['--config', 'STRING'], 'rounds is "3" (a string); expected an integer of at least 1.'],
    ['a bad --rounds from the environment', ['--enrollment', 'open', '--database', 'none', '--rounds=ENV'], 'DISTILLATE_ROUNDS is "zero"'],
    ['an unknown log level', ['--enrollment', 'open', '--log-level', 'verbose'], '--log-level is "verbose"; expected one of'],
    ['no enrollment mode', ['--database', 'none'], 'Choose who may join with --enrollment open|allowlist|token'],
    ['an unknown enrollment mode', ['--enrollment', 'everyone', '--database', 'none'], 'enrollment.mode (--enrollment) is "everyone"; expected one of open, allowlist, token.'],
    ['an allowlist mode without ids', ['--enrollment', 'allowlist', '--database', 'none'], 'the allowlist is empty'],
    ['a TLS certificate without its key', ['--enrollment', 'open', '--tls-cert', 'cert.pem'], 'Give both --tls-cert and --tls-key'],
  ])('rejects %s', async (_, args, message) => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-coordinator-'));
    const brokenFile = path.join(folder, 'broken.json');
    await writeFile(brokenFile, '{ "rounds": 2, }');
    const catalogFile = path.join(folder, 'catalog.csv');
    await writeFile(catalogFile, 'user,item\n1,10\n1,11\n2,12\n');

    const typoFile = path.join(folder, 'typo.json');
    await writeFile(typoFile, JSON.stringify({ enrollment: { mode: 'open' }, roundTimeout: 30 }));
    const stringFile = path.join(folder, 'string.json');
    await writeFile(stringFile, JSON.stringify({ enrollment: { mode: 'open' }, database: null, rounds: '3' }));

    // --rounds=ENV stands for DISTILLATE_ROUNDS=zero in the environment.
    const files: Record<string, string> = { BROKEN: brokenFile, TYPO: typoFile, STRING: stringFile };
    const flags = args.filter((arg) => arg !== '--rounds=ENV').map((arg) => files[arg] ?? arg);
    const env = args.includes('--rounds=ENV') ? { ...process.env, DISTILLATE_ROUNDS: 'zero' } : process.env;
    const child = forkTypeScript(COORDINATOR_ENTRY, ['--catalog', catalogFile, ...flags], { cwd: folder, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    onTestFinished(() => {
      child.kill();
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });

    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });
});

describe('coordinator settings precedence', () => {
  /** Starts a coordinator process and returns the rounds it plans, as /api/status reports them. */
  async function plannedRounds(flags: string[], environment: Record<string, string>): Promise<number> {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-coordinator-'));
    const configFile = path.join(folder, 'coordinator.json');
    const itemIds = Array.from({ length: 20 }, (_, index) => String(index));
    await writeFile(
      configFile,
      JSON.stringify({ rounds: 2, port: 0, probesPerRound: 4, candidatesPerRound: 10, itemIds, database: null, identityFile: null, enrollment: { mode: 'open' } }),
    );

    const child = forkTypeScript(COORDINATOR_ENTRY, ['--config', configFile, '--log-level', 'error', ...flags], {
      cwd: folder,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    onTestFinished(() => {
      child.kill();
    });
    const [listening] = (await once(child, 'message')) as [{ type: string; url: string }];
    const status = (await (await fetch(`${listening.url}/api/status`)).json()) as { roundsPlanned: number };
    return status.roundsPlanned;
  }

  it('takes the config file when nothing overrides it', async () => {
    expect(await plannedRounds([], {})).toBe(2);
  });

  it('lets an environment variable override the config file', async () => {
    expect(await plannedRounds([], { DISTILLATE_ROUNDS: '3' })).toBe(3);
  });

  it('lets a flag override the environment variable', async () => {
    expect(await plannedRounds(['--rounds', '4'], { DISTILLATE_ROUNDS: '3' })).toBe(4);
  });
});
