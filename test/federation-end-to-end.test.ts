// Three clients and a coordinator, each in its own process, federating over socket.io on
// 127.0.0.1 for two rounds: the path the main job takes, on a small slice of the data.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILT_IN_DATASETS, buildDataset, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import { runFederation } from '@distillate/simulations';
import { describe, expect, it } from 'vitest';

import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

async function runSmallFederation(seed: number) {
  const runDirectory = await mkdtemp(path.join(tmpdir(), 'distillate-e2e-'));
  const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
  const clientDataFiles = await Promise.all(
    [0, 1, 2].map(async (client) => {
      const file = path.join(runDirectory, `client-${client + 1}.csv`);
      await writeFile(file, formatInteractionsCsv(dataset, dataset.users.slice(client * 12, client * 12 + 12)));
      return file;
    }),
  );

  return runFederation({
    runDirectory,
    itemIds: dataset.itemIds,
    clientDataFiles,
    coordinator: { ...SMALL_COORDINATOR_SETTINGS, rounds: 2 },
    fedpdd: SMALL_FEDPDD_SETTINGS,
    seed,
  });
}

describe('federation end to end', () => {
  it('runs 3 clients over 2 rounds and collects their reports', async () => {
    const outcome = await runSmallFederation(1);

    expect(outcome.fingerprint).toMatch(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
    expect(outcome.results.rounds).toHaveLength(2);
    for (const round of outcome.results.rounds) {
      expect(round).toMatchObject({ state: 'closed', participants: 3, uploads: 3, rejectedUploads: 0, failure: null });
      expect(round.teacherBytes).toBeGreaterThan(round.probes * round.candidates * 4);
    }
    // Round 1 measures the whole catalog; round 2 uses the popularity estimate.
    expect(outcome.results.rounds[0].candidates).toBe(9724);
    expect(outcome.results.rounds[1]).toMatchObject({ probes: 16, candidates: 64 });

    expect(outcome.clients).toHaveLength(3);
    expect(new Set(outcome.clients.map((client) => client.clientId)).size).toBe(3);
    for (const client of outcome.clients) {
      expect(client.report.test.full.users).toBe(12);
      expect(client.report.bytesSent).toBeGreaterThan(outcome.results.rounds[0].uploadBytes / 3);
      expect(client.report.bytesReceived).toBeGreaterThan(outcome.results.rounds[0].teacherBytes);
    }
    expect(outcome.results.test.full.users).toBe(36);
    expect(outcome.results.test.sampled.users).toBe(36);
  });

  it('repeats its results for the same seed', async () => {
    const [first, second] = [await runSmallFederation(5), await runSmallFederation(5)];
    expect(second.results.test).toEqual(first.results.test);
    expect(second.clients.map((client) => client.report)).toEqual(first.clients.map((client) => client.report));
  });
});
