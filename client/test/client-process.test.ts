import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { forkTypeScript } from '@distillate/shared';
import { describe, expect, it, onTestFinished } from 'vitest';

const require = createRequire(import.meta.url);
const CLIENT_ENTRY = require.resolve('../src/main.ts');

async function ratingsFile(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'distillate-client-'));
  const file = path.join(folder, 'ratings.csv');
  await writeFile(file, 'user,item\n1,10\n1,11\n1,12\n');
  return file;
}

/** Returns a loopback URL whose port was free a moment ago, so nothing listens there. */
async function closedLoopbackUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

/** Starts the client in a temporary folder, where it keeps its state folder. */
async function startClient(args: string[]) {
  const cwd = await mkdtemp(path.join(tmpdir(), 'distillate-client-cwd-'));
  const child = forkTypeScript(CLIENT_ENTRY, args, { cwd, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  onTestFinished(() => {
    child.kill();
  });
  const output = { stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return { child, output };
}

describe('client process', () => {
  it('rejects a coordinator address without a scheme', async () => {
    const { child, output } = await startClient(['--coordinator', '127.0.0.1:8080', '--data', await ratingsFile()]);

    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(output.stderr).toContain('--coordinator is "127.0.0.1:8080"');
    expect(output.stderr).toContain('http://');
  });

  it('names an unreachable coordinator while retrying', async () => {
    const url = await closedLoopbackUrl();
    const { child, output } = await startClient(['--coordinator', url, '--data', await ratingsFile(), '--log-level', 'warn']);

    while (!output.stderr.includes('failed to connect')) {
      if (child.exitCode !== null) throw new Error(`The client exited with code ${child.exitCode}: ${output.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const warning = JSON.parse(output.stderr.split('\n').find((line) => line.includes('failed to connect'))!);
    expect(warning.url).toBe(url);
    expect(warning.attempt).toBe(1);
    expect(child.exitCode).toBeNull();
  });
});
