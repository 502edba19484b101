// The main job on a small slice of MovieLens: 2 client processes, 2 rounds, short references.
// It checks the report files and that the same seed gives the same table.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILT_IN_DATASETS, buildDataset, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import { formatResultsTable, runMainJob } from '@distillate/simulations';
import { beforeAll, describe, expect, it } from 'vitest';

import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

let datasetFile = '';

beforeAll(async () => {
  const directory = await mkdtemp(path.join(tmpdir(), 'distillate-main-job-'));
  const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
  datasetFile = path.join(directory, 'sample.csv');
  await writeFile(datasetFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 40)));
});

async function runSmallJob(seed: number, output?: string, clients = 2) {
  const outputDirectory = output ?? (await mkdtemp(path.join(tmpdir(), 'distillate-runs-')));
  const outcome = await runMainJob({
    datasetPath: datasetFile,
    clients,
    rounds: 2,
    seed,
    outputDirectory,
    partition: 'dirichlet',
    concentration: 0.5,
    baselineMaxEpochs: 2,
    fedpdd: { ...SMALL_FEDPDD_SETTINGS, seed },
    coordinator: SMALL_COORDINATOR_SETTINGS,
    command: 'test',
    quiet: true,
  });
  return { ...outcome, outputDirectory };
}

describe('main job', () => {
  it('writes report.json and report.md', async () => {
    const { report, files, outputDirectory } = await runSmallJob(3);

    const [runFolder] = await readdir(outputDirectory);
    expect(path.dirname(files.json)).toBe(path.join(outputDirectory, runFolder));
    expect(JSON.parse(await readFile(files.json, 'utf8'))).toEqual(report);
    expect(await readFile(files.markdown, 'utf8')).toContain(formatResultsTable(report.results));

    expect(report.results.map((result) => result.method)).toEqual(['popularity', 'local', 'fedpdd', 'central']);
    expect(report.dataset.users).toBe(40);
    expect(report.partition.usersPerClient.reduce((total, users) => total + users, 0)).toBe(40);
    expect(report.rounds).toHaveLength(2);
    for (const result of report.results) {
      expect(result.full.users).toBe(report.dataset.evaluatedUsers);
      expect(result.sampled.users).toBe(report.dataset.evaluatedUsers);
      expect(result.validation.full.users).toBe(report.dataset.evaluatedUsers);
    }

    const fedpdd = report.results.find((result) => result.method === 'fedpdd')!;
    expect(fedpdd.bytesSentPerClient).toBeGreaterThan(0);
    expect(fedpdd.bytesReceivedPerClient).toBeGreaterThan(0);
    expect(fedpdd.finalStudentValidation?.full.users).toBe(report.dataset.evaluatedUsers);
    expect(fedpdd.finalStudentValidation?.sampled.users).toBe(report.dataset.evaluatedUsers);
    const references = report.results.filter((result) => result.method !== 'fedpdd');
    expect(references.every((result) => result.finalStudentValidation === undefined)).toBe(true);
    expect(report.gapClosedFullNdcg10 === null || Number.isFinite(report.gapClosedFullNdcg10)).toBe(true);
  });

  it('gives the same table for the same seed', async () => {
    const first = await runSmallJob(4);
    const second = await runSmallJob(4);
    expect(formatResultsTable(second.report.results)).toBe(formatResultsTable(first.report.results));
    expect(second.report.results).toEqual(first.report.results);
  });

  it('rejects an output path that is a file', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'distillate-runs-')), 'not-a-folder');
    await writeFile(file, 'a file');
    await expect(runSmallJob(3, file)).rejects.toThrow(`--output "${file}" is invalid: part of that path is a file`);
  });

  it('leaves no run folder after an impossible partition', async () => {
    const output = await mkdtemp(path.join(tmpdir(), 'distillate-runs-'));

    // 40 users cannot give 5 clients 10 users each.
    await expect(runSmallJob(3, output, 5)).rejects.toThrow('too few for 5 clients');
    expect(await readdir(output)).toEqual([]);
  });
});
