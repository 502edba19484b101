// Dataset downloads against a real HTTP server on 127.0.0.1 that serves zip archives built here.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type CatalogDataset,
  ChecksumMismatchError,
  downloadDataset,
  loadInteractions,
  locateDataset,
} from '../src/index.js';
import { type ArchiveServer, buildZip, sha256Of, startArchiveServer } from './fixtures/archive-server.js';

// A MovieLens 100K look-alike: two kept files, plus a directory entry and a file that is not kept.
const RATINGS = '1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n';
const README = 'A toy dataset in the layout of MovieLens 100K.\n';
const TOY_FILES = { 'toy-100k/u.data': RATINGS, 'toy-100k/README': README, 'toy-100k/u1.base': 'not kept\n' };

let server: ArchiveServer;
let dataset: CatalogDataset;
let cacheFolder: string;

beforeAll(async () => {
  server = await startArchiveServer({
    '/toy.zip': await buildZip(TOY_FILES, ['toy-100k/']),
    '/corrupt.zip': await buildZip({ ...TOY_FILES, 'toy-100k/u.data': RATINGS.replace('5', '1') }),
    '/no-readme.zip': await buildZip({ 'toy-100k/u.data': RATINGS }),
    '/wrong-folder.zip': await buildZip({ 'toy/u.data': RATINGS, 'toy/README': README }),
    '/not-a-zip.zip': Buffer.from('<html>a login page</html>'),
    '/stall.zip': 'stall',
  });
  dataset = {
    id: 'toy-100k',
    name: 'Toy 100K',
    size: '3 ratings, 2 users, 2 items',
    licence: 'test data',
    archiveUrl: server.url('/toy.zip'),
    archiveFolder: 'toy-100k',
    builtInFolder: null,
    files: [
      { name: 'u.data', sha256: sha256Of(RATINGS) },
      { name: 'README', sha256: sha256Of(README) },
    ],
  };
});

afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  cacheFolder = await mkdtemp(path.join(tmpdir(), 'distillate-cache-'));
  server.requests.length = 0;
});

describe('downloadDataset', () => {
  it('extracts and verifies the kept files', async () => {
    const result = await downloadDataset(dataset, { cacheFolder });

    expect(result.outcome).toBe('downloaded');
    expect(result.folder).toBe(path.join(cacheFolder, 'toy-100k'));
    expect(result.url).toBe(server.url('/toy.zip'));
    expect(result.archiveBytes).toBeGreaterThan(0);
    expect((await readdir(result.folder)).sort()).toEqual(['README', 'u.data']);
    expect(await readFile(path.join(result.folder, 'u.data'), 'utf8')).toBe(RATINGS);
    expect(await readdir(cacheFolder)).toEqual(['toy-100k']);
  });

  it('leaves a folder the loader reads', async () => {
    const { folder } = await downloadDataset(dataset, { cacheFolder });
    const table = await loadInteractions(folder);

    expect(table.users).toEqual(['1', '1', '2']);
    expect(table.items).toEqual(['10', '20', '10']);
  });

  it('reports progress up to the archive size', async () => {
    const progress: Array<[number, number | null]> = [];
    const stages: string[] = [];
    const result = await downloadDataset(dataset, {
      cacheFolder,
      onProgress: (received, total) => progress.push([received, total]),
      onStage: (stage) => stages.push(stage),
    });

    expect(progress[0]).toEqual([0, result.archiveBytes]);
    expect(progress.at(-1)).toEqual([result.archiveBytes, result.archiveBytes]);
    expect(stages).toEqual(['downloading', 'extracting', 'verifying']);
  });

  it('skips an intact cached copy', async () => {
    await downloadDataset(dataset, { cacheFolder });
    const second = await downloadDataset(dataset, { cacheFolder });

    expect(second.outcome).toBe('cached');
    expect(second.folder).toBe(path.join(cacheFolder, 'toy-100k'));
    expect(second.archiveBytes).toBe(0);
    expect(server.requests).toEqual(['/toy.zip']);
  });

  it('downloads again with force', async () => {
    await downloadDataset(dataset, { cacheFolder });
    const second = await downloadDataset(dataset, { cacheFolder, force: true });

    expect(second.outcome).toBe('downloaded');
    expect(server.requests).toEqual(['/toy.zip', '/toy.zip']);
    expect(await readdir(cacheFolder)).toEqual(['toy-100k']);
  });

  it('replaces a changed cached copy', async () => {
    const { folder } = await downloadDataset(dataset, { cacheFolder });
    await writeFile(path.join(folder, 'u.data'), 'edited\n');
    await rm(path.join(folder, 'README'));
    expect((await locateDataset(dataset, cacheFolder)).state).toBe('invalid');

    const second = await downloadDataset(dataset, { cacheFolder });

    expect(second.outcome).toBe('downloaded');
    expect(await readFile(path.join(folder, 'u.data'), 'utf8')).toBe(RATINGS);
    expect((await locateDataset(dataset, cacheFolder)).state).toBe('cached');
  });

  it('rejects a corrupted file and deletes it', async () => {
    const url = server.url('/corrupt.zip');
    const error = await downloadDataset(dataset, { cacheFolder, url }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChecksumMismatchError);
    const message = (error as Error).message;
    expect(message).toContain(url);
    expect(message).toContain(`u.data: expected SHA-256 ${sha256Of(RATINGS)}, got ${sha256Of(RATINGS.replace('5', '1'))}`);
    expect(message).not.toContain('README:');
    expect(message).toContain('pass --url');
    expect((error as ChecksumMismatchError).failures.map((failure) => failure.name)).toEqual(['u.data']);
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('keeps the cached copy when a forced download fails', async () => {
    await downloadDataset(dataset, { cacheFolder });
    const failed = downloadDataset(dataset, { cacheFolder, url: server.url('/corrupt.zip'), force: true });

    await expect(failed).rejects.toThrow(ChecksumMismatchError);
    expect(await readdir(cacheFolder)).toEqual(['toy-100k']);
    expect((await locateDataset(dataset, cacheFolder)).state).toBe('cached');
  });

  it('names the URL of an HTTP 404', async () => {
    const url = server.url('/missing.zip');
    const failed = downloadDataset(dataset, { cacheFolder, url });

    await expect(failed).rejects.toThrow(`Download of ${url} failed: the server returned HTTP 404 Not Found.`);
    await expect(failed).rejects.toThrow('pass --url');
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('names a refused connection', async () => {
    // A port the closed server listened on is free and refuses connections.
    const closed = await startArchiveServer({});
    const url = closed.url('/toy.zip');
    await closed.close();

    const failed = downloadDataset(dataset, { cacheFolder, url });

    await expect(failed).rejects.toThrow(`Download of ${url} failed: fetch failed (connect ECONNREFUSED`);
    await expect(failed).rejects.toThrow('Check the network connection');
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('rejects a response that is not a zip', async () => {
    const failed = downloadDataset(dataset, { cacheFolder, url: server.url('/not-a-zip.zip') });

    await expect(failed).rejects.toThrow(/^Invalid zip archive \S+archive\.zip: /);
    await expect(failed).rejects.toThrow(`The file was downloaded from ${server.url('/not-a-zip.zip')} and has been deleted.`);
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('names kept files the archive lacks', async () => {
    const noReadme = downloadDataset(dataset, { cacheFolder, url: server.url('/no-readme.zip') });
    await expect(noReadme).rejects.toThrow(`The archive downloaded from ${server.url('/no-readme.zip')} has no toy-100k/README.`);

    const wrongFolder = downloadDataset(dataset, { cacheFolder, url: server.url('/wrong-folder.zip') });
    await expect(wrongFolder).rejects.toThrow('has no toy-100k/u.data, toy-100k/README. A mirror passed with --url');
    await expect(wrongFolder).rejects.toThrow('in a top folder toy-100k/.');
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('times out on a stalled response', async () => {
    const url = server.url('/stall.zip');
    const failed = downloadDataset(dataset, { cacheFolder, url, idleTimeoutMs: 200 });

    await expect(failed).rejects.toThrow(`Download of ${url} timed out: no data for 0.2 s.`);
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const failed = downloadDataset(dataset, {
      cacheFolder,
      url: server.url('/stall.zip'),
      signal: controller.signal,
      onProgress: (received) => {
        if (received > 0) controller.abort(new Error('stopped by the test'));
      },
    });

    await expect(failed).rejects.toThrow('stopped by the test');
    expect(await readdir(cacheFolder)).toEqual([]);
  });

  it('rejects a URL that is not http or https', async () => {
    const failed = downloadDataset(dataset, { cacheFolder, url: 'file:///etc/hostname' });

    await expect(failed).rejects.toThrow('Invalid download URL "file:///etc/hostname": only http:// and https:// are supported.');
    expect(server.requests).toEqual([]);
  });
});
