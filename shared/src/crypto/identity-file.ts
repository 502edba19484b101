// Reads and writes key files. An identity key file stores a party's secret keys as JSON, so
// that a coordinator or client can keep one identity across restarts. A public key file stores
// only the public half, with the fingerprint and client id, for an operator to put on an
// allowlist.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import nacl from 'tweetnacl';

import { type Identity, type PublicIdentity, clientIdFor, createIdentity, fingerprintOf, publicIdentity } from './identity.js';

export const IDENTITY_FILE_FORMAT = 'distillate-identity';
export const IDENTITY_FILE_VERSION = 1;
export const PUBLIC_KEY_FILE_FORMAT = 'distillate-public-key';
export const PUBLIC_KEY_FILE_VERSION = 1;

/** The file being parsed, its kind ("key file") for messages, and the advice for invalid content. */
interface ParsedFile {
  file: string;
  description: string;
  advice: string;
}

const NEW_KEY_ADVICE =
  'Restore the file from a backup, or create a new one with "distillate keys create" ' +
  '(a new key changes the fingerprint and the client id).';
const EXPORT_AGAIN_ADVICE = 'Export the file again with "distillate keys show --json" on the identity key file.';

/**
 * Cause of an IdentityFileError, for callers that add their own advice, such as the
 * command-line option that fixes it.
 */
export type IdentityFileErrorReason = 'exists' | 'not-found' | 'unreadable' | 'invalid' | 'unwritable';

/** A key file that cannot be read, parsed or written. The message names the file and, where one is at fault, the field. */
export class IdentityFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly reason: IdentityFileErrorReason,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'IdentityFileError';
  }
}

/** An identity and the time its key file was first written (ISO 8601). */
export interface StoredIdentity {
  identity: Identity;
  createdAt: string;
}

/** An identity read from `file`, with the file's permission bits and warnings about them. */
export interface LoadedIdentity extends StoredIdentity {
  file: string;
  mode: number;
  warnings: string[];
}

/** The shareable JSON form of a party's public keys, in base64, with their fingerprint and client id. */
export interface PublicKeyFile {
  format: typeof PUBLIC_KEY_FILE_FORMAT;
  version: typeof PUBLIC_KEY_FILE_VERSION;
  fingerprint: string;
  clientId: string;
  signingPublicKey: string;
  boxPublicKey: string;
}

/** The result of rotateIdentityFile. `previousFile` contains the old key file, unchanged. */
export interface IdentityRotation {
  previous: LoadedIdentity;
  previousFile: string;
  current: StoredIdentity;
}

/**
 * Formats an identity as key file text. The public keys are stored for readers of the file, and
 * parseIdentityFile checks them against the secret keys. The Ed25519 secret key has tweetnacl's
 * 64-byte layout: the 32-byte seed, then the public key.
 */
export function formatIdentityFile(identity: Identity, createdAt: string): string {
  const content = {
    format: IDENTITY_FILE_FORMAT,
    version: IDENTITY_FILE_VERSION,
    createdAt,
    signingPublicKey: toBase64(identity.signing.publicKey),
    boxPublicKey: toBase64(identity.box.publicKey),
    signingSecretKey: toBase64(identity.signing.secretKey),
    boxSecretKey: toBase64(identity.box.secretKey),
  };
  return `${JSON.stringify(content, null, 2)}\n`;
}

/**
 * Parses key file text. The key pairs are derived from the secret keys, and stored public keys,
 * when present, must match them. `file` names the file in errors.
 * @throws IdentityFileError naming the field at fault.
 */
export function parseIdentityFile(text: string, file: string): StoredIdentity {
  const parsed: ParsedFile = { file, description: 'key file', advice: NEW_KEY_ADVICE };
  const record = parseJsonObject(text, parsed);
  if (record.format === PUBLIC_KEY_FILE_FORMAT) {
    throw invalid(
      parsed,
      'format',
      `is "${PUBLIC_KEY_FILE_FORMAT}": this is a public key file, which contains no secret keys`,
      'Give the path of the identity key file that it was exported from.',
    );
  }
  checkFormat(record, parsed, IDENTITY_FILE_FORMAT, IDENTITY_FILE_VERSION);

  const signingSecretKey = decodeBase64Field(record, 'signingSecretKey', nacl.sign.secretKeyLength, 'an Ed25519 secret key', parsed);
  const boxSecretKey = decodeBase64Field(record, 'boxSecretKey', nacl.box.secretKeyLength, 'an X25519 secret key', parsed);

  // tweetnacl's fromSecretKey copies the public key out of the secret key's second half without
  // checking it, so derive the pair from the seed and compare.
  const signing = nacl.sign.keyPair.fromSeed(signingSecretKey.subarray(0, nacl.sign.seedLength));
  if (!bytesEqual(signing.secretKey, signingSecretKey)) {
    throw invalid(parsed, 'signingSecretKey', 'is inconsistent: its last 32 bytes are not the public key of its first 32 bytes (the seed)');
  }
  const box = nacl.box.keyPair.fromSecretKey(boxSecretKey);

  checkStoredPublicKey(record, 'signingPublicKey', signing.publicKey, 'signingSecretKey', parsed);
  checkStoredPublicKey(record, 'boxPublicKey', box.publicKey, 'boxSecretKey', parsed);

  return { identity: { signing, box }, createdAt: readCreatedAt(record, parsed) };
}

/**
 * Writes `identity` to a new key file with mode 0600, and creates missing parent folders with
 * mode 0700. The text goes to a temporary file in the same folder, which then takes the final
 * name, so readers never see a partly written key file.
 * @throws IdentityFileError with reason 'exists' when `file` exists and `overwrite` is not set.
 */
export async function writeIdentityFile(
  file: string,
  identity: Identity,
  options: { overwrite?: boolean; createdAt?: Date } = {},
): Promise<StoredIdentity> {
  const createdAt = (options.createdAt ?? new Date()).toISOString();
  await writePrivateFile(file, formatIdentityFile(identity, createdAt), options.overwrite ?? false);
  return { identity, createdAt };
}

/**
 * Reads and parses a key file. On POSIX systems, a file that group or other users can access
 * yields a warning, not an error, so that the caller can report it and still use the keys.
 * @throws IdentityFileError when the file is missing, unreadable or invalid.
 */
export async function readIdentityFile(file: string): Promise<LoadedIdentity> {
  const { text, mode } = await readKeyFileText(file);
  return toLoadedIdentity(text, file, mode);
}

/**
 * Replaces the identity in `file` with a new one. The old file's text is first copied to
 * `<file>.<timestamp>.previous` with mode 0600, so a valid key file exists under `file` at every
 * step. `identity` defaults to fresh random keys, and `now` to the current time.
 */
export async function rotateIdentityFile(
  file: string,
  options: { identity?: Identity; now?: Date } = {},
): Promise<IdentityRotation> {
  const now = options.now ?? new Date();
  const { text, mode } = await readKeyFileText(file);
  const previous = toLoadedIdentity(text, file, mode);

  const previousFile = `${file}.${now.toISOString().replace(/[:.]/g, '-')}.previous`;
  await writePrivateFile(previousFile, text, false);
  const current = await writeIdentityFile(file, options.identity ?? createIdentity(), { overwrite: true, createdAt: now });
  return { previous, previousFile, current };
}

/** Builds the shareable public key file of an identity. The result contains no secret key. */
export function publicKeyFile(identity: Identity | PublicIdentity): PublicKeyFile {
  const keys = 'signing' in identity ? publicIdentity(identity) : identity;
  return {
    format: PUBLIC_KEY_FILE_FORMAT,
    version: PUBLIC_KEY_FILE_VERSION,
    fingerprint: fingerprintOf(keys),
    clientId: clientIdFor(keys.signingPublicKey),
    signingPublicKey: toBase64(keys.signingPublicKey),
    boxPublicKey: toBase64(keys.boxPublicKey),
  };
}

/**
 * Parses the text of a public key file, such as an allowlist entry. The fingerprint and the client
 * id must match the keys.
 * @throws IdentityFileError naming the field at fault.
 */
export function parsePublicKeyFile(text: string, file: string): PublicIdentity {
  const parsed: ParsedFile = { file, description: 'public key file', advice: EXPORT_AGAIN_ADVICE };
  const record = parseJsonObject(text, parsed);
  if (record.format === IDENTITY_FILE_FORMAT) {
    throw invalid(
      parsed,
      'format',
      `is "${IDENTITY_FILE_FORMAT}": this is an identity key file, which contains secret keys and must stay with its owner`,
      'Ask for the output of "distillate keys show --json" instead.',
    );
  }
  checkFormat(record, parsed, PUBLIC_KEY_FILE_FORMAT, PUBLIC_KEY_FILE_VERSION);
  const keys: PublicIdentity = {
    signingPublicKey: decodeBase64Field(record, 'signingPublicKey', nacl.sign.publicKeyLength, 'an Ed25519 public key', parsed),
    boxPublicKey: decodeBase64Field(record, 'boxPublicKey', nacl.box.publicKeyLength, 'an X25519 public key', parsed),
  };

  const expected = { fingerprint: fingerprintOf(keys), clientId: clientIdFor(keys.signingPublicKey) };
  for (const field of ['fingerprint', 'clientId'] as const) {
    const value = record[field];
    if (value === undefined) throw invalid(parsed, field, 'is missing');
    if (value !== expected[field]) {
      throw invalid(parsed, field, `is ${JSON.stringify(value)}, but the keys in the file give "${expected[field]}"`);
    }
  }
  return keys;
}

async function readKeyFileText(file: string): Promise<{ text: string; mode: number }> {
  try {
    const handle = await open(file, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new IdentityFileError(`Key file ${file} is not a regular file. Give the path of a key file.`, file, 'unreadable');
      }
      return { text: await handle.readFile('utf8'), mode: stats.mode };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof IdentityFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new IdentityFileError(
        `Key file ${file} not found. Check the path, or create a key file with "distillate keys create".`,
        file,
        'not-found',
      );
    }
    throw new IdentityFileError(`Failed to read key file ${file}: ${(error as Error).message}. Check the path and the file's permissions.`, file, 'unreadable');
  }
}

function toLoadedIdentity(text: string, file: string, mode: number): LoadedIdentity {
  return { ...parseIdentityFile(text, file), file, mode: mode & 0o777, warnings: permissionWarnings(file, mode) };
}

function permissionWarnings(file: string, mode: number): string[] {
  if (process.platform === 'win32' || (mode & 0o077) === 0) return [];
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return [
    `Key file ${file} has mode ${octal}, so users other than its owner can access its secret keys. ` +
      `Run "chmod 600 ${file}", and rotate the keys if someone else may have read them.`,
  ];
}

/**
 * Writes `text` to `file` with mode 0600 through a temporary file in the same folder. Without
 * `overwrite`, the temporary file is hard-linked to `file`, which fails atomically when `file`
 * exists. With it, a rename replaces `file` atomically.
 */
async function writePrivateFile(file: string, text: string, overwrite: boolean): Promise<void> {
  const folder = path.dirname(file);
  const temporary = path.join(folder, `.${path.basename(file)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const handle = await open(temporary, 'wx', 0o600);
    try {
      // The umask can clear bits of the mode given to open, so set it explicitly.
      await handle.chmod(0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }

    if (overwrite) await rename(temporary, file);
    else await linkWithoutOverwrite(temporary, file);
  } catch (error) {
    if (error instanceof IdentityFileError) throw error;
    throw new IdentityFileError(
      `Failed to write key file ${file}: ${(error as Error).message}. Check that its folder exists or can be created, and that you can write to it.`,
      file,
      'unwritable',
    );
  } finally {
    // After a rename the temporary file is gone already, and force ignores that.
    await rm(temporary, { force: true });
  }
}

async function linkWithoutOverwrite(temporary: string, file: string): Promise<void> {
  try {
    await link(temporary, file);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(file);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
  }

  // NOTE: on file systems without hard links (FAT, some network shares) the existence check and
  // the rename are two steps, so a file created between them by another process is replaced.
  const exists = await stat(file).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  if (exists) throw alreadyExists(file);
  await rename(temporary, file);
}

function alreadyExists(file: string): IdentityFileError {
  return new IdentityFileError(`Key file ${file} already exists and was not changed.`, file, 'exists');
}

function parseJsonObject(text: string, parsed: ParsedFile): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = `Invalid JSON in ${parsed.description} ${parsed.file}: ${(error as Error).message}. ${parsed.advice}`;
    throw new IdentityFileError(message, parsed.file, 'invalid');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const message = `Invalid ${parsed.description} ${parsed.file}: expected one JSON object. ${parsed.advice}`;
    throw new IdentityFileError(message, parsed.file, 'invalid');
  }
  return value as Record<string, unknown>;
}

function checkFormat(record: Record<string, unknown>, parsed: ParsedFile, format: string, version: number): void {
  if (record.format !== format) {
    const found = record.format === undefined ? 'is missing' : `is ${JSON.stringify(record.format)}`;
    throw invalid(parsed, 'format', `${found}, expected "${format}"`, `Give the path of a Distillate ${parsed.description}.`);
  }
  if (record.version !== version) {
    const found = record.version === undefined ? 'is missing' : `is ${JSON.stringify(record.version)}`;
    throw invalid(
      parsed,
      'version',
      `${found}, but this version of Distillate reads only version ${version}`,
      `Use the Distillate version that wrote the file, or create a new ${parsed.description}.`,
    );
  }
}

function decodeBase64Field(
  record: Record<string, unknown>,
  field: string,
  length: number,
  description: string,
  parsed: ParsedFile,
): Uint8Array {
  const value = record[field];
  if (value === undefined) throw invalid(parsed, field, `is missing (expected ${description} in base64)`);
  if (typeof value !== 'string') throw invalid(parsed, field, `is not a string (expected ${description} in base64)`);

  // Buffer's decoder skips characters outside the alphabet, so a value that does not encode back
  // to itself is not valid base64.
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw invalid(parsed, field, 'is not valid base64');
  if (bytes.length !== length) {
    throw invalid(parsed, field, `is ${bytes.length} bytes long, but ${description} has ${length} bytes`);
  }
  return new Uint8Array(bytes);
}

function checkStoredPublicKey(
  record: Record<string, unknown>,
  field: string,
  derived: Uint8Array,
  secretField: string,
  parsed: ParsedFile,
): void {
  if (record[field] === undefined) return;
  const stored = decodeBase64Field(record, field, derived.length, 'a public key', parsed);
  if (!bytesEqual(stored, derived)) {
    const problem = `does not match the public key derived from "${secretField}", so the file was edited or mixes two identities`;
    throw invalid(parsed, field, problem);
  }
}

function readCreatedAt(record: Record<string, unknown>, parsed: ParsedFile): string {
  const value = record.createdAt;
  const advice = 'Set it to the date the key was created, such as "2025-01-31T12:00:00.000Z".';
  if (value === undefined) throw invalid(parsed, 'createdAt', 'is missing', advice);
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw invalid(parsed, 'createdAt', `is ${JSON.stringify(value)}, not an ISO 8601 date`, advice);
  }
  return value;
}

function invalid(parsed: ParsedFile, field: string, problem: string, advice = parsed.advice): IdentityFileError {
  const message = `Invalid ${parsed.description} ${parsed.file}: "${field}" ${problem}. ${advice}`;
  return new IdentityFileError(message, parsed.file, 'invalid', field);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Loads a key file, or creates it with fresh keys when it does not exist, so that a coordinator
 * keeps its fingerprint and a client its id across restarts. `log` receives the permission
 * warnings of an existing file and the notice of a new one.
 */
export async function loadOrCreateIdentityFile(
  file: string,
  log: { warn(details: object, message: string): void; info(details: object, message: string): void },
): Promise<Identity> {
  try {
    const loaded = await readIdentityFile(file);
    for (const warning of loaded.warnings) log.warn({ file }, warning);
    return loaded.identity;
  } catch (error) {
    if (!(error instanceof IdentityFileError) || error.reason !== 'not-found') throw error;
  }
  const identity = createIdentity();
  await writeIdentityFile(file, identity);
  log.info({ file }, 'created a new key file');
  return identity;
}
