import { type Dataset, buildDataset, parseInteractions } from '@distillate/shared';
import { describe, expect, it } from 'vitest';

import { type RoundCohortOptions, sampleRoundCohort } from '../src/round-cohorts.js';
import { ACTIVITY_LEVELS, activityLevels, partitionUsers } from '../src/user-partition.js';

/** Users 1..userCount with history lengths from 3 to 62 items, spread so that every activity level is populated. */
function syntheticDataset(userCount: number): Dataset {
  const lines = ['user,item,value,timestamp'];
  for (let user = 1; user <= userCount; user++) {
    const length = 3 + ((user * 37) % 60);
    for (let position = 0; position < length; position++) {
      lines.push(`${user},${(user * 7 + position * 13) % 300},1,${position}`);
    }
  }
  return buildDataset(parseInteractions(lines.join('\n'), 'synthetic.csv', 'delimited'));
}

// A cross-device federation: one client per user, and each client's level is its user's level.
const DATASET = syntheticDataset(400);
const USERS = DATASET.users.map((_, user) => user);
const CLIENTS = partitionUsers(DATASET, { setting: 'cross-device', scheme: 'iid', concentration: 0.3, minUsersPerClient: 1, seed: 1 }, USERS);
const CLIENT_LEVELS = activityLevels(DATASET, CLIENTS.map(([user]) => user));

const IID: RoundCohortOptions = { scheme: 'iid', cohortSize: { fraction: 0.1 }, concentration: 0.3, seed: 5 };
const DIRICHLET: RoundCohortOptions = { ...IID, scheme: 'dirichlet' };

/** Mean total variation distance between each round's activity-level mix and the mix over all clients. */
function participationSkew(options: RoundCohortOptions, rounds: number): number {
  const overall = levelShares(CLIENT_LEVELS);
  let total = 0;
  for (let roundId = 1; roundId <= rounds; roundId++) {
    const shares = levelShares(sampleRoundCohort(CLIENT_LEVELS, roundId, options).map((client) => CLIENT_LEVELS[client]));
    total += shares.reduce((sum, share, level) => sum + Math.abs(share - overall[level]), 0) / 2;
  }
  return total / rounds;
}

function levelShares(levels: number[]): number[] {
  const counts = new Array<number>(ACTIVITY_LEVELS).fill(0);
  for (const level of levels) counts[level] += 1;
  return counts.map((count) => count / levels.length);
}

describe('sampleRoundCohort', () => {
  it('draws exactly the requested number of distinct clients', () => {
    const cases: Array<[RoundCohortOptions['cohortSize'], number]> = [
      [{ fraction: 0.1 }, 40],
      [{ fraction: 0.25 }, 100],
      [{ fraction: 0.9 }, 360],
      [{ fraction: 0.001 }, 1],
      [{ clients: 17 }, 17],
      [{ clients: 400 }, 400],
    ];
    for (const scheme of ['iid', 'dirichlet'] as const) {
      for (const [cohortSize, expected] of cases) {
        for (let roundId = 1; roundId <= 20; roundId++) {
          // A small concentration puts most of a large cohort on one level, which forces a shortfall to fill.
          const cohort = sampleRoundCohort(CLIENT_LEVELS, roundId, { scheme, cohortSize, concentration: 0.05, seed: 2 });
          expect(cohort).toHaveLength(expected);
          expect(new Set(cohort).size).toBe(expected);
          expect(cohort.every((client) => Number.isInteger(client) && client >= 0 && client < CLIENTS.length)).toBe(true);
        }
      }
    }
  });

  it('returns clients in ascending order', () => {
    for (const options of [IID, DIRICHLET]) {
      const cohort = sampleRoundCohort(CLIENT_LEVELS, 3, options);
      expect(cohort).toEqual(cohort.slice().sort((a, b) => a - b));
    }
  });

  it('repeats for a seed and round', () => {
    for (const options of [IID, DIRICHLET]) {
      expect(sampleRoundCohort(CLIENT_LEVELS, 4, options)).toEqual(sampleRoundCohort(CLIENT_LEVELS, 4, options));
    }
  });

  it('changes across rounds and seeds', () => {
    for (const options of [IID, DIRICHLET]) {
      const cohort = sampleRoundCohort(CLIENT_LEVELS, 4, options);
      expect(sampleRoundCohort(CLIENT_LEVELS, 5, options)).not.toEqual(cohort);
      expect(sampleRoundCohort(CLIENT_LEVELS, 4, { ...options, seed: 6 })).not.toEqual(cohort);
    }
  });

  it('chooses every client over enough iid rounds', () => {
    const chosen = new Set<number>();
    for (let roundId = 1; roundId <= 200; roundId++) {
      for (const client of sampleRoundCohort(CLIENT_LEVELS, roundId, IID)) chosen.add(client);
    }
    expect(chosen.size).toBe(CLIENTS.length);
  });

  it('skews activity levels more under dirichlet than iid', () => {
    const iidSkew = participationSkew(IID, 50);
    const dirichletSkew = participationSkew(DIRICHLET, 50);
    expect(iidSkew).toBeLessThan(0.3);
    expect(dirichletSkew).toBeGreaterThan(0.4);
    expect(dirichletSkew).toBeGreaterThan(2 * iidSkew);
  });

  it('takes every client with a fraction of 1', () => {
    const silo = [0, 3, 7, 7, 1];
    for (const scheme of ['iid', 'dirichlet'] as const) {
      for (let roundId = 1; roundId <= 5; roundId++) {
        expect(sampleRoundCohort(silo, roundId, { ...IID, scheme, cohortSize: { fraction: 1 } })).toEqual([0, 1, 2, 3, 4]);
      }
    }
  });

  it('rejects an invalid fraction', () => {
    for (const fraction of [0, -0.5, 1.5, Number.NaN]) {
      expect(() => sampleRoundCohort(CLIENT_LEVELS, 1, { ...IID, cohortSize: { fraction } })).toThrow(
        `The cohort fraction is ${fraction}; expected a number above 0 and at most 1`,
      );
    }
  });

  it('rejects an invalid count', () => {
    for (const clients of [0, 401, 2.5]) {
      expect(() => sampleRoundCohort(CLIENT_LEVELS, 1, { ...IID, cohortSize: { clients } })).toThrow(
        `The cohort size is ${clients} clients; expected an integer from 1 to the 400 clients available.`,
      );
    }
  });

  it('rejects an invalid round id', () => {
    expect(() => sampleRoundCohort(CLIENT_LEVELS, -1, IID)).toThrow('The round id is -1; expected a non-negative integer.');
  });

  it('rejects an empty federation', () => {
    expect(() => sampleRoundCohort([], 1, IID)).toThrow('A round cohort needs at least one client');
  });

  it('rejects a non-positive concentration', () => {
    expect(() => sampleRoundCohort(CLIENT_LEVELS, 1, { ...DIRICHLET, concentration: 0 })).toThrow('The Dirichlet concentration is 0');
  });

  it('rejects an unknown scheme', () => {
    const options = { ...IID, scheme: 'round-robin' } as unknown as RoundCohortOptions;
    expect(() => sampleRoundCohort(CLIENT_LEVELS, 1, options)).toThrow('The cohort scheme is "round-robin"');
  });
});
