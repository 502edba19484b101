// `distillate data`: through the real bin script for what needs no real download, and in process
// with a test catalog for downloads, against an HTTP server on 127.0.0.1.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { BUILT_IN_DATASETS, type CatalogDataset } from '@distillate/shared';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { type ArchiveServer, buildZip, sha256Of, startArchiveServer } from '../shared/test/fixtures/archive-server.js';
import { dataCommand } from '../simulations/src/data-command.js';

const BIN = fileURLToPath(new URL('../simulations/bin/distillate.mjs', import.meta.url));
const ML_100K_U_DATA_SHA256 = '06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490';

/** Runs the bin with `environment` in place of the cache variables of this process. */
function run(args: string[], environment: Record<string, string>) {
  const env = { ...process.env, ...environment };
  if (!('DISTILLATE_CACHE' in environment)) delete env.DISTILLATE_CACHE;
  if (!('XDG_CACHE_HOME' in environment)) delete env.XDG_CACHE_HOME;
  return promisify(execFile)(process.execPath, [BIN, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

// Files in the layout of MovieLens 100K, whose contents differ from the real ones.
const FAKE_U_DATA = '1\t10\t5\t881250949\n';
const FAKE_ML_100K_FILES = Object.fromEntries(
  ['u.data', 'u.item', 'u.user', 'u.genre', 'u.occupation', 'u.info', 'README'].map((name) => [
    `ml-100k/${name}`,
    name === 'u.data' ? FAKE_U_DATA : `fake ${name}\n`,
  ]),
);

let server: ArchiveServer;

const newCacheFolder = () => mkdtemp(path.join(tmpdir(), 'distillate-data-'));

beforeAll(async () => {
  server = await startArchiveServer({
    '/ml-100k.zip': await buildZip(FAKE_ML_100K_FILES, ['ml-100k/']),
    '/toy.zip': await buildZip({ 'toy/ratings.csv': 'user,item\nu1,i1\n' }),
  });
});

afterAll(async () => {
  await server.close();
});

// Each test starts a node process, so they run concurrently, each with its own cache folder.
describe.concurrent('distillate data through the bin', () => {
  it('lists both datasets and their cache state', async () => {
    const cache = await newCacheFolder();
    const { code, stdout } = await run(['data', 'list'], { DISTILLATE_CACHE: cache });

    expect(code).toBe(0);
    expect(stdout).toContain(`Cache folder: ${cache}`);
    expect(stdout).toContain('ml-latest-small  MovieLens Latest Small');
    expect(stdout).toContain(`built in  yes, at ${BUILT_IN_DATASETS['ml-latest-small']}`);
    expect(stdout).toContain('ml-100k  MovieLens 100K');
    expect(stdout).toContain('size      100,000 ratings, 943 users, 1,682 movies');
    expect(stdout).toContain('licence   research use only, no redistribution without permission');
    expect(stdout).toContain('cached    no: run `distillate data download ml-100k`');
  });

  it('takes --cache over the variables', async () => {
    const cache = await newCacheFolder();
    const override = path.join(cache, 'override');
    const { stdout } = await run(['data', 'list', '--cache', override], { DISTILLATE_CACHE: cache });

    expect(stdout).toContain(`Cache folder: ${override}`);
    expect(stdout).toContain(`run \`distillate data download ml-100k --cache ${override}\``);
  });

  it('falls back to XDG_CACHE_HOME', async () => {
    const cache = await newCacheFolder();
    const { stdout } = await run(['data', 'list'], { XDG_CACHE_HOME: cache });

    expect(stdout).toContain(`Cache folder: ${path.join(cache, 'distillate')}`);
  });

  it('prints the built-in folder', async () => {
    const cache = await newCacheFolder();
    const { code, stdout } = await run(['data', 'path', 'ml-latest-small'], { DISTILLATE_CACHE: cache });

    expect(code).toBe(0);
    expect(stdout).toBe(`${BUILT_IN_DATASETS['ml-latest-small']}\n`);
  });

  it('asks to download a missing dataset', async () => {
    const cache = await newCacheFolder();
    const { code, stdout, stderr } = await run(['data', 'path', 'ml-100k'], { DISTILLATE_CACHE: cache });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Dataset ml-100k is not in the cache folder ${cache}.`);
    expect(stderr).toContain('Run `distillate data download ml-100k` first.');
  });

  it('names a changed file of a cached dataset', async () => {
    const cache = await newCacheFolder();
    await mkdir(path.join(cache, 'ml-100k'));
    await writeFile(path.join(cache, 'ml-100k', 'u.data'), FAKE_U_DATA);

    const listed = await run(['data', 'list'], { DISTILLATE_CACHE: cache });
    expect(listed.stdout).toContain(`cached    incomplete or changed, at ${path.join(cache, 'ml-100k')}`);

    const { code, stderr } = await run(['data', 'path', 'ml-100k'], { DISTILLATE_CACHE: cache });
    expect(code).toBe(1);
    expect(stderr).toContain(`u.data: expected SHA-256 ${ML_100K_U_DATA_SHA256}, got ${sha256Of(FAKE_U_DATA)}`);
    expect(stderr).toContain('u.item: expected SHA-256 553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701, file missing');
    expect(stderr).toContain('Run `distillate data download ml-100k` to download it again.');
  });

  it('never downloads the built-in dataset', async () => {
    const cache = await newCacheFolder();
    const { code, stdout } = await run(['data', 'download', 'ml-latest-small'], { DISTILLATE_CACHE: cache });

    expect(code).toBe(0);
    expect(stdout).toContain(`ml-latest-small is built in, so it is never downloaded. Folder: ${BUILT_IN_DATASETS['ml-latest-small']}`);
    expect(await readdir(cache)).toEqual([]);
  });

  it('reports an HTTP 404 from --url', async () => {
    const cache = await newCacheFolder();
    const url = server.url('/missing/ml-100k.zip');
    const { code, stderr } = await run(['data', 'download', 'ml-100k', '--url', url], { DISTILLATE_CACHE: cache });

    expect(code).toBe(1);
    expect(stderr).toContain(`Download of ${url} failed: the server returned HTTP 404 Not Found.`);
    expect(stderr).toContain('pass --url');
    expect(await readdir(cache)).toEqual([]);
  });

  it('rejects an archive with wrong checksums', async () => {
    const cache = await newCacheFolder();
    const url = server.url('/ml-100k.zip');
    const { code, stdout, stderr } = await run(['data', 'download', 'ml-100k', '--url', url], { DISTILLATE_CACHE: cache });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Checksum mismatch in the ml-100k archive downloaded from ${url}:`);
    expect(stderr).toContain(`u.data: expected SHA-256 ${ML_100K_U_DATA_SHA256}, got ${sha256Of(FAKE_U_DATA)}`);
    expect(stderr).toContain('The downloaded files were deleted.');
    expect(await readdir(cache)).toEqual([]);
  });

});

/** Returns the subcommand of `command` named `name`. */
function subcommand(command: Command, name: string): Command {
  const found = command.commands.find((candidate) => candidate.name() === name);
  if (found === undefined) throw new Error(`No subcommand ${name} in ${command.name()}.`);
  return found;
}

describe('distillate data in process', () => {
  const toy = (): CatalogDataset => ({
    id: 'toy',
    name: 'Toy',
    size: '1 rating',
    licence: 'test data',
    archiveUrl: server.url('/toy.zip'),
    archiveFolder: 'toy',
    builtInFolder: null,
    files: [{ name: 'ratings.csv', sha256: sha256Of('user,item\nu1,i1\n') }],
  });
  let printed: string[];
  let wasTTY: boolean | undefined;
  let cache: string;

  beforeEach(async () => {
    cache = await newCacheFolder();
    printed = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => {
      printed.push(line);
    });
    // Output must stay quiet when stdout is a pipe or a file, whatever runs the tests.
    wasTTY = process.stdout.isTTY;
    process.stdout.isTTY = false;
  });

  afterEach(() => {
    vi.restoreAllMocks();
    process.stdout.isTTY = wasTTY as boolean;
  });

  const parse = (args: string[]) => dataCommand([toy()]).parseAsync(args, { from: 'user' });

  it('gives units and defaults in help', () => {
    const program = new Command('distillate').addCommand(dataCommand());
    const help = subcommand(subcommand(program, 'data'), 'download').helpInformation();

    expect(help).toContain('Usage: distillate data download [options] <id>');
    expect(help).toContain('--timeout <seconds>');
    expect(help).toContain('(default: 60)');
    expect(help).toMatch(/default: \$DISTILLATE_CACHE if set, else\s+\$XDG_CACHE_HOME\/distillate, else ~\/\.cache\/distillate/);
  });

  it('lists JSON with each state', async () => {
    await dataCommand().parseAsync(['list', '--json', '--cache', cache], { from: 'user' });
    const entries = JSON.parse(printed.join('\n')) as Array<{ id: string; builtIn: boolean; state: string; folder: string }>;

    expect(entries.map((entry) => [entry.id, entry.builtIn, entry.state, entry.folder])).toEqual([
      ['ml-latest-small', true, 'built-in', BUILT_IN_DATASETS['ml-latest-small']],
      ['ml-100k', false, 'missing', path.join(cache, 'ml-100k')],
    ]);
  });

  it('lists the known ids for an unknown id', async () => {
    const failed = dataCommand().parseAsync(['download', 'ml-1m', '--cache', cache], { from: 'user' });

    await expect(failed).rejects.toThrow('Unknown dataset "ml-1m". Known datasets: ml-latest-small, ml-100k.');
  });

  it('rejects an invalid --timeout', async () => {
    const command = dataCommand();
    const errors: string[] = [];
    subcommand(command, 'download')
      .exitOverride()
      .configureOutput({ writeErr: (text) => errors.push(text) });

    const failed = command.parseAsync(['download', 'ml-100k', '--timeout', '0'], { from: 'user' });

    await expect(failed).rejects.toThrow("option '--timeout <seconds>' argument '0' is invalid");
    expect(errors.join('')).toContain('expected a positive number of seconds; got "0"');
  });

  it('downloads once and prints the path', async () => {
    await parse(['download', 'toy', '--cache', cache]);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^Downloaded toy \(0\.\d kB\) from http:\/\/127\.0\.0\.1:\d+\/toy\.zip and verified 1 file with SHA-256\./);
    expect(printed[0]).toContain(`Folder: ${path.join(cache, 'toy')}`);

    await parse(['download', 'toy', '--cache', cache]);
    expect(printed[1]).toBe(
      `toy is already in the cache and passes SHA-256 verification (1 file); pass --force to download it again. Folder: ${path.join(cache, 'toy')}`,
    );

    await parse(['path', 'toy', '--cache', cache]);
    expect(printed[2]).toBe(path.join(cache, 'toy'));
    expect(printed).toHaveLength(3);
  });
});
