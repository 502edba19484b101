// `distillate keys`, started as a user starts it: through the bin script, in a temporary folder.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { fingerprintOf, publicIdentity, publicKeyFile, readIdentityFile } from '@distillate/shared';
import { beforeEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../simulations/bin/distillate.mjs', import.meta.url));
const KEY_FILE = 'distillate-identity.json';
const posix = process.platform !== 'win32';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'distillate-keys-'));
});

const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, 'keys', ...args], { cwd: folder }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

/** Returns the value printed after `label` (such as "Fingerprint:") in `output`. */
function printedValue(output: string, label: string): string {
  const line = output.split('\n').find((candidate) => candidate.startsWith(label));
  if (line === undefined) throw new Error(`No "${label}" line in the output:\n${output}`);
  return line.slice(label.length).trim();
}

describe('distillate keys', () => {
  it('creates a key file that show reads back', async () => {
    const created = await run(['create']);
    expect(created.code).toBe(0);
    const file = path.join(folder, KEY_FILE);
    expect(printedValue(created.stdout, 'Key file:')).toBe(file);

    const loaded = await readIdentityFile(file);
    const fingerprint = fingerprintOf(publicIdentity(loaded.identity));
    expect(printedValue(created.stdout, 'Fingerprint:')).toBe(fingerprint);
    if (posix) expect((await stat(file)).mode & 0o777).toBe(0o600);

    const showOutput = await run(['show']);
    expect(showOutput.code).toBe(0);
    expect(showOutput.stderr).toBe('');
    expect(printedValue(showOutput.stdout, 'Fingerprint:')).toBe(fingerprint);
    expect(printedValue(showOutput.stdout, 'Client id:')).toBe(printedValue(created.stdout, 'Client id:'));
    expect(printedValue(showOutput.stdout, 'Signing public key:')).toBe(
      `${Buffer.from(loaded.identity.signing.publicKey).toString('base64')} (Ed25519)`,
    );
    expect(printedValue(showOutput.stdout, 'Created:')).toBe(loaded.createdAt);
  });

  it('shows the shareable public key file with --json', async () => {
    expect((await run(['create', '--out', 'keys/alice.json'])).code).toBe(0);

    const showOutput = await run(['show', 'keys/alice.json', '--json']);
    expect(showOutput.code).toBe(0);
    const loaded = await readIdentityFile(path.join(folder, 'keys', 'alice.json'));
    expect(JSON.parse(showOutput.stdout)).toEqual(publicKeyFile(loaded.identity));
    expect(showOutput.stdout).not.toContain('SecretKey');
  });

  it('rotates and keeps the previous file', async () => {
    expect((await run(['create'])).code).toBe(0);
    const file = path.join(folder, KEY_FILE);
    const oldText = await readFile(file, 'utf8');
    const oldFingerprint = fingerprintOf(publicIdentity((await readIdentityFile(file)).identity));

    const rotated = await run(['rotate']);
    expect(rotated.code).toBe(0);
    const newFingerprint = fingerprintOf(publicIdentity((await readIdentityFile(file)).identity));
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(printedValue(rotated.stdout, 'Old fingerprint:')).toBe(oldFingerprint);
    expect(printedValue(rotated.stdout, 'New fingerprint:')).toBe(newFingerprint);
    expect(rotated.stdout).toContain('must pin the new one');
    expect(rotated.stdout).toContain('gets a new id');

    const previousFiles = (await readdir(folder)).filter((name) => name !== KEY_FILE);
    expect(previousFiles).toHaveLength(1);
    expect(previousFiles[0]).toMatch(/^distillate-identity\.json\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.previous$/);
    const previousFile = path.join(folder, previousFiles[0]);
    expect(printedValue(rotated.stdout, 'Old keys kept in')).toBe(`${previousFile} (mode 0600).`);
    expect(await readFile(previousFile, 'utf8')).toBe(oldText);
    if (posix) expect((await stat(previousFile)).mode & 0o777).toBe(0o600);
  });

  it('rejects creating over an existing file without --force', async () => {
    expect((await run(['create'])).code).toBe(0);
    const file = path.join(folder, KEY_FILE);
    const original = await readFile(file, 'utf8');

    const again = await run(['create']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`Key file ${file} already exists and was not changed`);
    expect(again.stderr).toContain('Pass --force to replace it');
    expect(await readFile(file, 'utf8')).toBe(original);

    const forced = await run(['create', '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(file, 'utf8')).not.toBe(original);
  });

  it('names a missing or invalid key file', async () => {
    const missing = await run(['show', 'missing.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`Key file ${path.join(folder, 'missing.json')} not found`);

    const rotateMissing = await run(['rotate', 'missing.json']);
    expect(rotateMissing.code).toBe(1);
    expect(rotateMissing.stderr).toContain(`Key file ${path.join(folder, 'missing.json')} not found`);

    const invalidFile = path.join(folder, 'invalid.json');
    await writeFile(invalidFile, JSON.stringify({ format: 'distillate-identity', version: 1, boxSecretKey: 'AAAA' }));
    const invalid = await run(['show', 'invalid.json']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`Invalid key file ${invalidFile}: "signingSecretKey" is missing`);
  });

  it.skipIf(!posix)('warns about a key file others can read', async () => {
    expect((await run(['create'])).code).toBe(0);
    const file = path.join(folder, KEY_FILE);
    await chmod(file, 0o644);

    const showOutput = await run(['show']);
    expect(showOutput.code).toBe(0);
    expect(showOutput.stderr).toContain(`Warning: Key file ${file} has mode 0644`);
    expect(printedValue(showOutput.stdout, 'Fingerprint:')).toBe(fingerprintOf(publicIdentity((await readIdentityFile(file)).identity)));

    const rotated = await run(['rotate']);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain('Warning: the old key file had mode 0644');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('states the defaults in --help', async () => {
    const create = await run(['create', '--help']);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('Usage: distillate keys create [options]');
    expect(create.stdout).toContain('--out <file>');
    expect(create.stdout.replace(/\s+/g, ' ')).toContain(`(default: "${KEY_FILE}")`);

    for (const subcommand of ['show', 'rotate']) {
      const help = await run([subcommand, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(default: "${KEY_FILE}")`);
    }
  });
});
