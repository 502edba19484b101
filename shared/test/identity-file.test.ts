import { chmod, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { beforeEach, describe, expect, it } from 'vitest';

import {
  IDENTITY_FILE_FORMAT,
  IDENTITY_FILE_VERSION,
  IdentityFileError,
  clientIdFor,
  createIdentity,
  fingerprintOf,
  formatIdentityFile,
  parseIdentityFile,
  parsePublicKeyFile,
  publicIdentity,
  publicKeyFile,
  readIdentityFile,
  rotateIdentityFile,
  writeIdentityFile,
} from '../src/index.js';

const posix = process.platform !== 'win32';
let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'distillate-identity-'));
});

/** Parses `text` and returns the IdentityFileError it throws. */
function parseError(text: string, file = 'keys.json'): IdentityFileError {
  try {
    parseIdentityFile(text, file);
  } catch (error) {
    if (error instanceof IdentityFileError) return error;
    throw error;
  }
  throw new Error('parseIdentityFile accepted invalid content');
}

function validContent(): Record<string, unknown> {
  return JSON.parse(formatIdentityFile(createIdentity(), '2025-01-31T12:00:00.000Z')) as Record<string, unknown>;
}

describe('identity key file', () => {
  it('round-trips keys and creation date', async () => {
    const file = path.join(folder, 'identity.json');
    const identity = createIdentity();
    const createdAt = new Date('2025-01-31T12:00:00.000Z');
    await writeIdentityFile(file, identity, { createdAt });

    const loaded = await readIdentityFile(file);
    expect(loaded.identity.signing.secretKey).toEqual(identity.signing.secretKey);
    expect(loaded.identity.signing.publicKey).toEqual(identity.signing.publicKey);
    expect(loaded.identity.box.secretKey).toEqual(identity.box.secretKey);
    expect(loaded.identity.box.publicKey).toEqual(identity.box.publicKey);
    expect(loaded.createdAt).toBe('2025-01-31T12:00:00.000Z');
    expect(loaded.file).toBe(file);
    expect(loaded.warnings).toEqual([]);
  });

  it('stores format, version and base64 keys', async () => {
    const file = path.join(folder, 'identity.json');
    const identity = createIdentity();
    await writeIdentityFile(file, identity);

    const content = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(content.format).toBe(IDENTITY_FILE_FORMAT);
    expect(content.version).toBe(IDENTITY_FILE_VERSION);
    expect(content.signingSecretKey).toBe(Buffer.from(identity.signing.secretKey).toString('base64'));
    expect(content.boxSecretKey).toBe(Buffer.from(identity.box.secretKey).toString('base64'));
    expect(content.signingPublicKey).toBe(Buffer.from(identity.signing.publicKey).toString('base64'));
    expect(content.boxPublicKey).toBe(Buffer.from(identity.box.publicKey).toString('base64'));
    expect(Date.parse(content.createdAt as string)).not.toBeNaN();
  });

  it.skipIf(!posix)('writes mode 0600 and leaves no temporary file', async () => {
    const file = path.join(folder, 'identity.json');
    await writeIdentityFile(file, createIdentity());

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readIdentityFile(file)).mode).toBe(0o600);
    expect(await readdir(folder)).toEqual(['identity.json']);
  });

  it.skipIf(!posix)('creates missing folders with mode 0700', async () => {
    const file = path.join(folder, 'keys', 'coordinator', 'identity.json');
    await writeIdentityFile(file, createIdentity());

    expect((await stat(path.join(folder, 'keys'))).mode & 0o777).toBe(0o700);
    expect((await readIdentityFile(file)).warnings).toEqual([]);
  });

  it('rejects overwriting an existing file unless asked', async () => {
    const file = path.join(folder, 'identity.json');
    await writeIdentityFile(file, createIdentity());
    const original = await readFile(file, 'utf8');

    const error = await writeIdentityFile(file, createIdentity()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdentityFileError);
    expect((error as IdentityFileError).reason).toBe('exists');
    expect((error as IdentityFileError).message).toContain(file);
    expect(await readFile(file, 'utf8')).toBe(original);
    expect(await readdir(folder)).toEqual(['identity.json']);

    const replacement = createIdentity();
    await writeIdentityFile(file, replacement, { overwrite: true });
    expect((await readIdentityFile(file)).identity.signing.publicKey).toEqual(replacement.signing.publicKey);
    expect(await readdir(folder)).toEqual(['identity.json']);
  });

  it.skipIf(!posix)('warns about mode 0644 and still loads', async () => {
    const file = path.join(folder, 'identity.json');
    const identity = createIdentity();
    await writeIdentityFile(file, identity);
    await chmod(file, 0o644);

    const loaded = await readIdentityFile(file);
    expect(loaded.identity.signing.publicKey).toEqual(identity.signing.publicKey);
    expect(loaded.mode).toBe(0o644);
    expect(loaded.warnings).toHaveLength(1);
    expect(loaded.warnings[0]).toContain(file);
    expect(loaded.warnings[0]).toContain('0644');
    expect(loaded.warnings[0]).toContain(`chmod 600 ${file}`);
  });

  it('names a missing file', async () => {
    const file = path.join(folder, 'missing.json');
    const error = await readIdentityFile(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdentityFileError);
    expect((error as IdentityFileError).reason).toBe('not-found');
    expect((error as IdentityFileError).message).toContain(`Key file ${file} not found`);
  });

  it('names an invalid file on disk', async () => {
    const file = path.join(folder, 'identity.json');
    await writeFile(file, '{"format":', { mode: 0o600 });
    await expect(readIdentityFile(file)).rejects.toThrow(`Invalid JSON in key file ${file}`);
  });
});

describe('identity key file validation', () => {
  const cases: Array<{ name: string; edit: (content: Record<string, unknown>) => void; field: string; message: string }> = [
    {
      name: 'short signing secret key',
      edit: (content) => {
        content.signingSecretKey = Buffer.from(content.signingSecretKey as string, 'base64').subarray(0, 32).toString('base64');
      },
      field: 'signingSecretKey',
      message: '"signingSecretKey" is 32 bytes long, but an Ed25519 secret key has 64 bytes',
    },
    {
      name: 'short box secret key',
      edit: (content) => {
        content.boxSecretKey = Buffer.from(content.boxSecretKey as string, 'base64').subarray(0, 31).toString('base64');
      },
      field: 'boxSecretKey',
      message: '"boxSecretKey" is 31 bytes long, but an X25519 secret key has 32 bytes',
    },
    {
      name: 'corrupted base64',
      edit: (content) => {
        content.boxSecretKey = `${(content.boxSecretKey as string).slice(0, 10)}!${(content.boxSecretKey as string).slice(11)}`;
      },
      field: 'boxSecretKey',
      message: '"boxSecretKey" is not valid base64',
    },
    {
      name: 'missing secret key',
      edit: (content) => {
        delete content.signingSecretKey;
      },
      field: 'signingSecretKey',
      message: '"signingSecretKey" is missing',
    },
    {
      name: 'non-string key',
      edit: (content) => {
        content.boxSecretKey = 42;
      },
      field: 'boxSecretKey',
      message: '"boxSecretKey" is not a string',
    },
    {
      name: 'unknown version',
      edit: (content) => {
        content.version = 2;
      },
      field: 'version',
      message: '"version" is 2, but this version of Distillate reads only version 1',
    },
    {
      name: 'unknown format',
      edit: (content) => {
        content.format = 'ssh-key';
      },
      field: 'format',
      message: '"format" is "ssh-key", expected "distillate-identity"',
    },
    {
      name: 'public key file',
      edit: (content) => {
        content.format = 'distillate-public-key';
      },
      field: 'format',
      message: 'this is a public key file, which contains no secret keys',
    },
    {
      name: 'stored public key of another identity',
      edit: (content) => {
        content.boxPublicKey = Buffer.from(createIdentity().box.publicKey).toString('base64');
      },
      field: 'boxPublicKey',
      message: '"boxPublicKey" does not match the public key derived from "boxSecretKey"',
    },
    {
      name: 'signing key halves from two identities',
      edit: (content) => {
        const secretKey = Buffer.from(content.signingSecretKey as string, 'base64');
        secretKey.set(createIdentity().signing.publicKey, 32);
        content.signingSecretKey = secretKey.toString('base64');
        delete content.signingPublicKey;
      },
      field: 'signingSecretKey',
      message: '"signingSecretKey" is inconsistent',
    },
    {
      name: 'invalid creation date',
      edit: (content) => {
        content.createdAt = 'yesterday';
      },
      field: 'createdAt',
      message: '"createdAt" is "yesterday", not an ISO 8601 date',
    },
  ];

  for (const testCase of cases) {
    it(`rejects ${testCase.name}`, () => {
      const content = validContent();
      testCase.edit(content);
      const error = parseError(JSON.stringify(content), '/keys/identity.json');

      expect(error.reason).toBe('invalid');
      expect(error.field).toBe(testCase.field);
      expect(error.message).toContain('Invalid key file /keys/identity.json');
      expect(error.message).toContain(testCase.message);
    });
  }

  it('accepts a file without stored public keys', () => {
    const content = validContent();
    delete content.signingPublicKey;
    delete content.boxPublicKey;
    const { identity } = parseIdentityFile(JSON.stringify(content), 'keys.json');
    expect(Buffer.from(identity.signing.secretKey).toString('base64')).toBe(content.signingSecretKey);
    expect(Buffer.from(identity.box.secretKey).toString('base64')).toBe(content.boxSecretKey);
  });

  it('rejects invalid JSON and non-objects', () => {
    expect(parseError('not json', 'keys.json').message).toContain('Invalid JSON in key file keys.json');
    expect(parseError('[1, 2]', 'keys.json').message).toContain('Invalid key file keys.json: expected one JSON object');
  });
});

describe('identity rotation', () => {
  it.skipIf(!posix)('keeps the previous file with mode 0600', async () => {
    const file = path.join(folder, 'identity.json');
    const old = await writeIdentityFile(file, createIdentity());
    const oldText = await readFile(file, 'utf8');
    const now = new Date('2025-02-01T08:30:00.123Z');

    const rotation = await rotateIdentityFile(file, { now });
    expect(rotation.previousFile).toBe(`${file}.2025-02-01T08-30-00-123Z.previous`);
    expect(await readFile(rotation.previousFile, 'utf8')).toBe(oldText);
    expect((await stat(rotation.previousFile)).mode & 0o777).toBe(0o600);
    expect(rotation.previous.identity.signing.publicKey).toEqual(old.identity.signing.publicKey);

    const current = await readIdentityFile(file);
    expect(current.identity.signing.publicKey).toEqual(rotation.current.identity.signing.publicKey);
    expect(current.identity.signing.publicKey).not.toEqual(old.identity.signing.publicKey);
    expect(current.createdAt).toBe(now.toISOString());
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(folder)).sort()).toEqual(['identity.json', 'identity.json.2025-02-01T08-30-00-123Z.previous']);
  });

  it('leaves an invalid key file untouched', async () => {
    const file = path.join(folder, 'identity.json');
    await writeFile(file, '{"format":"distillate-identity","version":9}', { mode: 0o600 });

    await expect(rotateIdentityFile(file)).rejects.toThrow(`Invalid key file ${file}: "version" is 9`);
    expect(await readdir(folder)).toEqual(['identity.json']);
  });
});

describe('public key file', () => {
  it('contains the fingerprint, client id and public keys only', () => {
    const identity = createIdentity();
    const exported = publicKeyFile(identity);
    expect(exported).toEqual({
      format: 'distillate-public-key',
      version: 1,
      fingerprint: fingerprintOf(publicIdentity(identity)),
      clientId: clientIdFor(identity.signing.publicKey),
      signingPublicKey: Buffer.from(identity.signing.publicKey).toString('base64'),
      boxPublicKey: Buffer.from(identity.box.publicKey).toString('base64'),
    });
    expect(publicKeyFile(publicIdentity(identity))).toEqual(exported);
  });

  it('round-trips through parsePublicKeyFile', () => {
    const identity = createIdentity();
    const keys = parsePublicKeyFile(JSON.stringify(publicKeyFile(identity)), 'alice.json');
    expect(keys.signingPublicKey).toEqual(identity.signing.publicKey);
    expect(keys.boxPublicKey).toEqual(identity.box.publicKey);
  });

  it('rejects a fingerprint that does not match the keys', () => {
    const exported = { ...publicKeyFile(createIdentity()), fingerprint: fingerprintOf(publicIdentity(createIdentity())) };
    expect(() => parsePublicKeyFile(JSON.stringify(exported), 'alice.json')).toThrow(
      'Invalid public key file alice.json: "fingerprint" is',
    );
  });

  it('rejects an identity key file', () => {
    const text = formatIdentityFile(createIdentity(), new Date().toISOString());
    expect(() => parsePublicKeyFile(text, 'alice.json')).toThrow('this is an identity key file, which contains secret keys');
  });
});
