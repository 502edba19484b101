// A scenario comparing every federated algorithm with the references, on a small slice of
// MovieLens: each federation runs a real coordinator and 2 client processes for 2 rounds (fedsplit: 1).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILT_IN_DATASETS, buildDataset, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import { bytesPerRound, formatSimulationTable, readScenarioFile, runSimulation, scenarioFromJson } from '@distillate/simulations';
import { beforeAll, describe, expect, it } from 'vitest';

let directory = '';

/** The simulation's folder name, from the path of one of its files. */
const runFolder = (file: string) => path.basename(path.dirname(file));

const smallScenario = {
  name: 'Small comparison',
  dataset: 'sample.csv',
  seed: 2,
  rounds: 2,
  partition: { setting: 'cross-silo', clients: 2, assignment: 'iid' },
  baselineEpochs: 2,
  coordinator: { probesPerRound: 16, candidatesPerRound: 64 },
  learner: { student: { embeddingDim: 16 }, warmupEpochs: 2, localEpochs: 1, finalEpochs: 1 },
  runs: [
    { algorithm: 'fedpdd' },
    { name: 'fedpdd int8', algorithm: 'fedpdd', coordinator: { uploadCodec: 'int8', teacherCodec: 'int8' } },
    { name: 'fedpdd mixed', algorithm: 'fedpdd', students: [{ architecture: 'pooled-embedding' }, { architecture: 'attention-pooled', attentionDim: 8 }] },
    { algorithm: 'fedmd' },
    { algorithm: 'dsfl' },
    { algorithm: 'fedavg' },
    { algorithm: 'fedsplit' },
    { algorithm: 'local' },
    { algorithm: 'central' },
    { algorithm: 'popularity' },
  ],
};

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'distillate-simulate-'));
  const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
  await writeFile(path.join(directory, 'sample.csv'), formatInteractionsCsv(dataset, dataset.users.slice(0, 40)));
  await writeFile(path.join(directory, 'scenario.json'), JSON.stringify(smallScenario));
});

describe('simulate', () => {
  it('compares the algorithms side by side, with bytes per client and charts', async () => {
    const scenario = await readScenarioFile(path.join(directory, 'scenario.json'));
    const { report, files } = await runSimulation(scenario, { outputDirectory: path.join(directory, 'runs'), command: 'test', quiet: true });

    expect(report.results.map((result) => result.run)).toEqual(smallScenario.runs.map((run) => run.name ?? run.algorithm));
    for (const result of report.results) expect(result.full.users, result.run).toBe(report.dataset.evaluatedUsers);

    const federated = report.results.filter((result) => result.series !== undefined);
    expect(federated.map((result) => result.run)).toEqual(['fedpdd', 'fedpdd int8', 'fedpdd mixed', 'fedmd', 'dsfl', 'fedavg', 'fedsplit']);
    for (const result of federated) {
      expect(result.series!.map((point) => point.round), result.run).toEqual(result.run === 'fedsplit' ? [1] : [1, 2]);
      expect(result.series!.every((point) => point.ndcg10 >= 0 && point.ndcg10 <= 1)).toBe(true);
      expect(result.bytesSentPerClient).toBeGreaterThan(0);
    }

    // int8 sends about a quarter of float32's logit bytes; fedavg sends the whole student every round.
    const perRound = (run: string) => bytesPerRound(report.results.find((result) => result.run === run)!)!;
    expect(perRound('fedpdd int8')).toBeLessThan(perRound('fedpdd') / 2);
    expect(perRound('fedavg')).toBeGreaterThan(perRound('fedpdd'));

    // The mixed run gave each client its own student: one of each architecture.
    const mixed = await Promise.all([1, 2].map((client) => readFile(path.join(directory, 'runs', runFolder(files[0]), 'fedpdd-mixed', `client-${client}-settings.json`), 'utf8')));
    expect(mixed.map((settings) => JSON.parse(settings).student.architecture)).toEqual(['pooled-embedding', 'attention-pooled']);

    const [json, markdown, perRoundChart, perByteChart] = await Promise.all(files.map((file) => readFile(file, 'utf8')));
    expect(JSON.parse(json)).toEqual(report);
    expect(markdown).toContain(formatSimulationTable(report.results));
    for (const chart of [perRoundChart, perByteChart]) {
      expect(chart.startsWith('<svg')).toBe(true);
      for (const run of ['fedpdd int8', 'fedavg', 'central']) expect(chart).toContain(run);
    }
  }, 300_000);

  it('rejects invalid scenarios', () => {
    expect(() => scenarioFromJson({ ...smallScenario, round: 3 }, 'bad.json')).toThrow('Invalid scenario in bad.json: scenario: Unrecognized key: "round"');
    expect(() => scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'fedprox' }] }, 'bad.json')).toThrow('runs.0.algorithm: got "fedprox"; expected one of fedpdd,');
    expect(() => scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'fedpdd', coordinator: { teacherCodec: 'int16' } }] }, 'bad.json')).toThrow(
      'runs.0.coordinator.teacherCodec: Unknown logit codec "int16": expected float32, float16, int8 or top-k:K',
    );
    expect(() => scenarioFromJson({ ...smallScenario, pool: { hosts: 2 } }, 'bad.json')).toThrow('pool applies to cross-device partitions only');
    expect(() => scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'fedpdd' }, { algorithm: 'fedpdd' }] }, 'bad.json')).toThrow('repeats the run name "fedpdd"');
    expect(() => scenarioFromJson({ ...smallScenario, learner: { temprature: 2 } }, 'bad.json')).toThrow('learner: Unrecognized key: "temprature"');
    expect(() => scenarioFromJson({ ...smallScenario, learner: { student: { embedingDim: 8 } } }, 'bad.json')).toThrow('learner.student: Unrecognized key: "embedingDim"');
    expect(() => scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'fedavg', students: [{ embeddingDim: 8 }, { embeddingDim: 16 }] }] }, 'bad.json')).toThrow('fedavg averages parameters and needs one architecture');

    expect(() => scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'fedpdd', coordinator: { uploadCodec: 'top-k' } }] }, 'bad.json')).toThrow(
      'runs.0.coordinator.uploadCodec: Invalid codec "top-k": write top-k:K',
    );
  });

  it('names an --output path that is a file', async () => {
    const scenario = scenarioFromJson({ ...smallScenario, runs: [{ algorithm: 'popularity' }] }, path.join(directory, 'scenario.json'));
    const file = path.join(directory, 'a-file');
    await writeFile(file, 'not a folder');
    await expect(runSimulation(scenario, { outputDirectory: file, command: 'test', quiet: true })).rejects.toThrow(`--output "${file}" is invalid: part of that path is a file`);
  });
});
