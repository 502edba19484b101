import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILT_IN_DATASETS, DatasetFormatError, loadInteractions, parseInteractions } from '../src/index.js';

describe('parseInteractions', () => {
  it('reads the MovieLens latest header and columns', () => {
    const table = parseInteractions('userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n', 'ratings.csv', 'movielens-latest');
    expect(table.users).toEqual(['1', '1']);
    expect(table.items).toEqual(['31', '1029']);
    expect(Array.from(table.values)).toEqual([2.5, 3]);
    expect(Array.from(table.timestamps!)).toEqual([1260759144, 1260759179]);
  });

  it('reads MovieLens 100K tab-separated lines', () => {
    const table = parseInteractions('196\t242\t3\t881250949\n186\t302\t3\t891717742\n', 'u.data', 'movielens-100k');
    expect(table.users).toEqual(['196', '186']);
    expect(table.items).toEqual(['242', '302']);
    expect(Array.from(table.timestamps!)).toEqual([881250949, 891717742]);
  });

  it('reads MovieLens 1M double-colon lines', () => {
    const table = parseInteractions('1::1193::5::978300760\r\n1::661::3::978302109\r\n', 'ratings.dat', 'movielens-1m');
    expect(table.items).toEqual(['1193', '661']);
    expect(Array.from(table.values)).toEqual([5, 3]);
  });

  it('reads generic CSV without value or timestamp', () => {
    const table = parseInteractions('alice,book-1\nbob,book-2\n', 'plain.csv', 'delimited');
    expect(table.users).toEqual(['alice', 'bob']);
    expect(Array.from(table.values)).toEqual([1, 1]);
    expect(table.timestamps).toBeNull();
  });

  it('reads generic TSV with a header in any order', () => {
    const table = parseInteractions('timestamp\titem\tuser\n10\tx\tu1\n20\ty\tu2\n', 'named.tsv', 'delimited');
    expect(table.users).toEqual(['u1', 'u2']);
    expect(table.items).toEqual(['x', 'y']);
    expect(Array.from(table.timestamps!)).toEqual([10, 20]);
  });

  it('rejects a line with a missing field', () => {
    const parse = () => parseInteractions('userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0\n', 'ratings.csv', 'movielens-latest');
    expect(parse).toThrow(DatasetFormatError);
    expect(parse).toThrow('ratings.csv, line 3: expected 4 fields separated by commas but found 3');
  });

  it('rejects a rating that is not a number', () => {
    const parse = () => parseInteractions('196\t242\tthree\t881250949\n', 'u.data', 'movielens-100k');
    expect(parse).toThrow('u.data, line 1: the value "three" is not a finite number.');
  });

  it('rejects a negative timestamp', () => {
    const parse = () => parseInteractions('1::1193::5::-4\n', 'ratings.dat', 'movielens-1m');
    expect(parse).toThrow('ratings.dat, line 1: the timestamp -4 is negative');
  });

  it('rejects an empty user id', () => {
    const parse = () => parseInteractions('alice,book-1\n,book-2\n', 'plain.csv', 'delimited');
    expect(parse).toThrow('plain.csv, line 2: the user id is empty.');
  });

  it('rejects a wrong MovieLens header', () => {
    const parse = () => parseInteractions('user,movie\n1,2\n', 'ratings.csv', 'movielens-latest');
    expect(parse).toThrow('ratings.csv, line 1: expected the header "userId,movieId,rating,timestamp"');
  });

  it('rejects a header naming only one column', () => {
    const parse = () => parseInteractions('user,thing\n1,2\n', 'half.csv', 'delimited');
    expect(parse).toThrow('half.csv, line 1: the header "user,thing" names a user column but no item column');
  });

  it('rejects a file without interactions', () => {
    expect(() => parseInteractions('userId,movieId,rating,timestamp\n', 'ratings.csv', 'movielens-latest')).toThrow(
      'ratings.csv contains no interactions',
    );
  });
});

describe('loadInteractions', () => {
  it('loads the built-in ml-latest-small', async () => {
    const table = await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']);
    expect(table.users.length).toBe(100_836);
    expect(new Set(table.users).size).toBe(610);
    expect(new Set(table.items).size).toBe(9_724);
  });

  it('finds u.data in a MovieLens 100K folder', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-ml100k-'));
    await writeFile(path.join(folder, 'u.data'), '1\t10\t4\t100\n2\t20\t5\t200\n');
    const table = await loadInteractions(folder);
    expect(table.source).toBe(path.join(folder, 'u.data'));
    expect(table.items).toEqual(['10', '20']);
  });

  it('names a missing dataset path', async () => {
    await expect(loadInteractions('/nonexistent/dataset')).rejects.toThrow('Dataset not found at /nonexistent/dataset');
  });

  it('names the files a folder should contain', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-empty-'));
    await expect(loadInteractions(folder)).rejects.toThrow('expected ratings.csv (MovieLens latest), u.data (MovieLens 100K) or ratings.dat (MovieLens 1M)');
  });
});
