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
    const config = { host: '127.0.0.1', port: 0, minClients: 1, rounds: 1, probesPerRound: 4, candidatesPerRound: 10, itemIds };
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
    const [code] = (await exited) as [number | null];
    expect(code).toBe(1);
  });
});
