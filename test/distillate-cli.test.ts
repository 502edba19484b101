// The distillate command line, started as a user starts it: through its bin script.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../simulations/bin/distillate.mjs', import.meta.url));
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

describe('distillate command line', () => {
  it('lists the simulate subcommand with its options', async () => {
    const { code, stdout } = await run(['simulate', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: distillate simulate [options]');
    expect(stdout).toContain('--config <file>');
  });

  it('names a scenario file that is missing or invalid, and exits with 1', async () => {
    const missing = await run(['simulate', '--config', 'no-such-scenario.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-scenario.json');

    const file = path.join(await mkdtemp(path.join(tmpdir(), 'distillate-cli-')), 'bad.json');
    await writeFile(file, JSON.stringify({ name: 'bad', dataset: 'ml-latest-small', runs: [{ algorithm: 'fedprox' }] }));
    const invalid = await run(['simulate', '--config', file]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`Invalid scenario in ${file}: runs.0.algorithm`);
  });

  it('splits a dataset into client files', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-split-'));
    const { code, stdout } = await run(['data', 'split', 'ml-latest-small', '--clients', '3', '--out', folder, '--seed', '2']);
    expect(code).toBe(0);

    const counts = [...stdout.matchAll(/client-(\d)\.csv: (\d+) users/g)].map((match) => Number(match[2]));
    expect(counts).toHaveLength(3);
    expect(counts.reduce((total, users) => total + users, 0)).toBe(610);
    const first = await readFile(path.join(folder, 'client-1.csv'), 'utf8');
    expect(first.split('\n')[0]).toBe('user,item,value,timestamp');
  });

  it('names a bad client count for data split', async () => {
    const { code, stderr } = await run(['data', 'split', 'ml-latest-small', '--clients', 'two']);
    expect(code).toBe(1);
    expect(stderr).toContain('--clients is "two"; expected an integer of at least 1.');
  });
});
