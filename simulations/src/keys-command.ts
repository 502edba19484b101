// The `keys` command: create, show and rotate the key file that contains the identity of a
// coordinator or client (an Ed25519 signing key pair and an X25519 box key pair).
import path from 'node:path';

import { Command } from 'commander';

import {
  type Identity,
  IdentityFileError,
  clientIdFor,
  createIdentity,
  fingerprintOf,
  publicIdentity,
  publicKeyFile,
  readIdentityFile,
  rotateIdentityFile,
  writeIdentityFile,
} from '@distillate/shared';

const DEFAULT_KEY_FILE = 'distillate-identity.json';

/** Builds the `keys` command and its `create`, `show` and `rotate` subcommands. */
export function keysCommand(): Command {
  return new Command('keys')
    .description(
      'Create, show and rotate key files. A key file contains the secret keys of a coordinator or client and must stay private. ' +
        'Share the output of "distillate keys show --json" instead.',
    )
    .addCommand(createCommand())
    .addCommand(showCommand())
    .addCommand(rotateCommand());
}

function createCommand(): Command {
  return new Command('create')
    .description('Create a key file with new random keys (mode 0600), and print its fingerprint and client id.')
    .option('--out <file>', 'path of the new key file; missing folders are created', DEFAULT_KEY_FILE)
    .option('--force', 'replace an existing key file; its keys are lost', false)
    .action(async (options: { out: string; force: boolean }) => {
      const file = path.resolve(options.out);
      const identity = createIdentity();
      try {
        await writeIdentityFile(file, identity, { overwrite: options.force });
      } catch (error) {
        if (error instanceof IdentityFileError && error.reason === 'exists') {
          throw new Error(
            `Key file ${file} already exists and was not changed. Pass --force to replace it (its keys are lost), ` +
              `run "distillate keys rotate ${options.out}" to replace it and keep the old keys, or choose another path with --out.`,
          );
        }
        throw error;
      }

      console.log('Created a key file with new keys (mode 0600). Keep it private: it contains secret keys.');
      console.log(`Key file:           ${file}`);
      printIdentity(identity);
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('Print the fingerprint, client id, public keys and creation date of a key file.')
    .argument('[file]', 'key file to read', DEFAULT_KEY_FILE)
    .option('--json', 'print only the public key file (JSON) to share with a coordinator operator, for an allowlist', false)
    .action(async (fileArgument: string, options: { json: boolean }) => {
      const loaded = await readIdentityFile(path.resolve(fileArgument));
      printWarnings(loaded.warnings);

      if (options.json) {
        console.log(JSON.stringify(publicKeyFile(loaded.identity), null, 2));
        return;
      }
      console.log(`Key file:           ${loaded.file}`);
      printIdentity(loaded.identity);
      console.log(`Signing public key: ${base64(loaded.identity.signing.publicKey)} (Ed25519)`);
      console.log(`Box public key:     ${base64(loaded.identity.box.publicKey)} (X25519)`);
      console.log(`Created:            ${loaded.createdAt}`);
    });
}

function rotateCommand(): Command {
  return new Command('rotate')
    .description(
      'Replace the keys in a key file with new random keys. The old file is kept as <file>.<timestamp>.previous (mode 0600).',
    )
    .argument('[file]', 'key file to rotate', DEFAULT_KEY_FILE)
    .action(async (fileArgument: string) => {
      const rotation = await rotateIdentityFile(path.resolve(fileArgument));
      if (rotation.previous.warnings.length > 0) {
        const mode = rotation.previous.mode.toString(8).padStart(4, '0');
        console.error(
          `Warning: the old key file had mode ${mode}, so other users may have read the old keys. ` +
            'The new key file and the kept copy have mode 0600.',
        );
      }

      const previous = rotation.previous.identity;
      const current = rotation.current.identity;
      console.log(`Rotated key file ${rotation.previous.file}.`);
      console.log(`Old keys kept in ${rotation.previousFile} (mode 0600).`);
      console.log(`Old fingerprint: ${fingerprintOf(publicIdentity(previous))}`);
      console.log(`New fingerprint: ${fingerprintOf(publicIdentity(current))}`);
      console.log(`Old client id:   ${clientIdFor(previous.signing.publicKey)}`);
      console.log(`New client id:   ${clientIdFor(current.signing.publicKey)}`);
      console.log(
        '\nClients that pin the old fingerprint (client option --fingerprint) must pin the new one. ' +
          'A client id is derived from the signing key, so a client that rotates its keys gets a new id: ' +
          'update any allowlist that names the old one.',
      );
    });
}

function printIdentity(identity: Identity): void {
  console.log(`Fingerprint:        ${fingerprintOf(publicIdentity(identity))}`);
  console.log(`Client id:          ${clientIdFor(identity.signing.publicKey)}`);
}

function printWarnings(warnings: string[]): void {
  for (const warning of warnings) console.error(`Warning: ${warning}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
