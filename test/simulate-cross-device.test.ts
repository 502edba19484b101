// A cross-device scenario on a small slice of MovieLens: one client per private user, hosted on
// a pool of 2 processes, a quarter of the clients per round, and some users made public.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILT_IN_DATASETS, buildDataset, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import { runSimulation, scenarioFromJson } from '@distillate/simulations';
import { describe, expect, it } from 'vitest';

describe('simulate cross-device', () => {
  it('pools one client per user', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'distillate-cross-device-'));
    const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
    await writeFile(path.join(directory, 'sample.csv'), formatInteractionsCsv(dataset, dataset.users.slice(0, 30)));

    const scenario = scenarioFromJson(
      {
        name: 'Small cross-device',
        dataset: 'sample.csv',
        seed: 3,
        rounds: 2,
        partition: { setting: 'cross-device', assignment: 'dirichlet', participation: 0.25 },
        publicUsers: 0.2,
        pool: { hosts: 2, concurrency: 2 },
        baselineEpochs: 2,
        coordinator: { probesPerRound: 8, candidatesPerRound: 32, uploadCodec: 'int8' },
        learner: { student: { embeddingDim: 8 }, warmupEpochs: 2, localEpochs: 1, finalEpochs: 1 },
        runs: [
          { algorithm: 'fedpdd' },
          { name: 'fedpdd mixed', algorithm: 'fedpdd', students: [{ architecture: 'pooled-embedding' }, { architecture: 'attention-pooled', attentionDim: 4 }] },
          { algorithm: 'fedavg' },
          { algorithm: 'fedsplit' },
          { algorithm: 'local' },
          { algorithm: 'popularity' },
        ],
      },
      path.join(directory, 'scenario.json'),
    );
    const { report, directory: runDirectory } = await runSimulation(scenario, { outputDirectory: path.join(directory, 'runs'), command: 'test', quiet: true });

    expect(report.dataset.publicUsers).toBe(6);
    expect(report.partition.clients).toBe(24);
    expect(report.partition.usersPerClient.every((users) => users === 1)).toBe(true);
    for (const result of report.results) expect(result.full.users, result.run).toBe(report.dataset.evaluatedUsers);

    for (const run of report.runs.filter((candidate) => candidate.algorithm !== 'local' && candidate.algorithm !== 'popularity')) {
      // 6 of the 24 clients take part in each round; all 24 report at the end.
      expect(run.rounds.map((round) => round.participants), run.name).toEqual(run.algorithm === 'fedsplit' ? [6] : [6, 6]);
      expect(run.rounds.every((round) => round.uploads === 6 && round.metricReports === 6)).toBe(true);
    }
    // The coordinator got the public users' histories as probes, and the cohorts of both rounds.
    const coordinator = JSON.parse(await readFile(path.join(runDirectory, 'fedpdd', 'coordinator.json'), 'utf8'));
    expect(coordinator.publicProbes).toHaveLength(6);
    expect(coordinator.publicProbes.every((probe: number[]) => probe.length >= 1)).toBe(true);
    expect(coordinator.roundCohorts.map((cohort: string[]) => cohort.length)).toEqual([6, 6]);

    // Pooled runs report their time and the peak memory of their largest host.
    for (const result of report.results.filter((candidate) => candidate.series !== undefined)) {
      expect(result.federationSeconds, result.run).toBeGreaterThan(0);
      expect(result.peakClientHostBytes, result.run).toBeGreaterThan(50 * 2 ** 20);
    }

    // The suspended learners' state files are removed once the run ends.
    expect(await readdir(path.join(runDirectory, 'fedpdd'))).not.toContain('client-state');
  }, 300_000);
});
