import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  BUILT_IN_DATASETS,
  DATASET_CATALOG,
  downloadDataset,
  findCatalogDataset,
  locateDataset,
  resolveCacheFolder,
} from '../src/index.js';

describe('DATASET_CATALOG', () => {
  it('lists ml-latest-small and ml-100k', () => {
    expect(DATASET_CATALOG.map((dataset) => dataset.id)).toEqual(['ml-latest-small', 'ml-100k']);
  });

  it('gives every file a SHA-256', () => {
    for (const dataset of DATASET_CATALOG) {
      expect(dataset.files.length).toBeGreaterThan(0);
      for (const file of dataset.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('matches the built-in ml-latest-small files', async () => {
    const dataset = findCatalogDataset('ml-latest-small');
    const location = await locateDataset(dataset, path.join(tmpdir(), 'distillate-unused-cache'));

    expect(location).toEqual({ state: 'built-in', folder: BUILT_IN_DATASETS['ml-latest-small'] });
  });
});

describe('findCatalogDataset', () => {
  it('lists the known ids for an unknown id', () => {
    expect(() => findCatalogDataset('ml-25m')).toThrow(
      'Unknown dataset "ml-25m". Known datasets: ml-latest-small, ml-100k. Run `distillate data list`',
    );
  });
});

describe('locateDataset', () => {
  it('reports ml-100k missing from an empty cache', async () => {
    const cacheFolder = await mkdtemp(path.join(tmpdir(), 'distillate-cache-'));
    const location = await locateDataset(findCatalogDataset('ml-100k'), cacheFolder);

    expect(location).toEqual({ state: 'missing', folder: path.join(cacheFolder, 'ml-100k') });
  });

  it('names missing and changed files of a cached copy', async () => {
    const cacheFolder = await mkdtemp(path.join(tmpdir(), 'distillate-cache-'));
    const folder = path.join(cacheFolder, 'ml-100k');
    await mkdir(folder);
    await writeFile(path.join(folder, 'u.data'), '1\t1\t5\t881250949\n');

    const location = await locateDataset(findCatalogDataset('ml-100k'), cacheFolder);

    expect(location.state).toBe('invalid');
    if (location.state !== 'invalid') return;
    expect(location.failures).toHaveLength(7);
    expect(location.failures[0]).toMatchObject({ name: 'u.data', expectedSha256: '06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490' });
    expect(location.failures[0].actualSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(location.failures[1]).toMatchObject({ name: 'u.item', actualSha256: null });
  });
});

describe('downloadDataset of a built-in dataset', () => {
  it('returns the built-in folder without a request', async () => {
    const cacheFolder = await mkdtemp(path.join(tmpdir(), 'distillate-cache-'));
    // A request to this URL would fail, so the test passes only if no request is made.
    const result = await downloadDataset(findCatalogDataset('ml-latest-small'), { cacheFolder, url: 'http://127.0.0.1:1/none.zip' });

    expect(result).toEqual({ outcome: 'built-in', folder: BUILT_IN_DATASETS['ml-latest-small'], url: null, archiveBytes: 0 });
  });
});

describe('resolveCacheFolder', () => {
  const home = '/home/ada';

  it.each([
    ['the override first', '/data/cache', { DISTILLATE_CACHE: '/env/cache', XDG_CACHE_HOME: '/xdg' }, '/data/cache'],
    ['DISTILLATE_CACHE next', undefined, { DISTILLATE_CACHE: '/env/cache', XDG_CACHE_HOME: '/xdg' }, '/env/cache'],
    ['XDG_CACHE_HOME/distillate next', undefined, { XDG_CACHE_HOME: '/xdg' }, '/xdg/distillate'],
    ['~/.cache/distillate last', undefined, {}, '/home/ada/.cache/distillate'],
    ['~/.cache/distillate for empty variables', undefined, { DISTILLATE_CACHE: '', XDG_CACHE_HOME: '' }, '/home/ada/.cache/distillate'],
    ['~/.cache/distillate for a relative XDG_CACHE_HOME', undefined, { XDG_CACHE_HOME: 'relative/cache' }, '/home/ada/.cache/distillate'],
  ])('takes %s', (_case, override, environment, expected) => {
    expect(resolveCacheFolder(override, environment, home)).toBe(expected);
  });

  it('resolves relative folders against the working folder', () => {
    expect(resolveCacheFolder('cache', {}, home)).toBe(path.resolve('cache'));
    expect(resolveCacheFolder(undefined, { DISTILLATE_CACHE: 'env-cache' }, home)).toBe(path.resolve('env-cache'));
  });
});
