import { type Dataset, buildDataset, parseInteractions } from '@distillate/shared';
import { describe, expect, it } from 'vitest';

import { ACTIVITY_LEVELS, type PartitionOptions, activityLevels, partitionUsers } from '../src/user-partition.js';

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

const DATASET = syntheticDataset(400);
const ALL_USERS = DATASET.users.map((_, user) => user);

const CROSS_SILO: PartitionOptions = {
  setting: 'cross-silo',
  scheme: 'dirichlet',
  clients: 8,
  concentration: 0.3,
  minUsersPerClient: 5,
  seed: 7,
};

/**
 * Mean total variation distance between each client's activity-level mix and the mix over all
 * the users: 0 when every client looks like the whole population.
 */
function activitySkew(dataset: Dataset, clients: number[][]): number {
  const levels = activityLevels(dataset, ALL_USERS);
  const overall = levelShares(clients.flat().map((user) => levels[user]));
  const distances = clients.map((users) => {
    const shares = levelShares(users.map((user) => levels[user]));
    return shares.reduce((total, share, level) => total + Math.abs(share - overall[level]), 0) / 2;
  });
  return distances.reduce((total, distance) => total + distance, 0) / distances.length;
}

function levelShares(levels: number[]): number[] {
  const counts = new Array<number>(ACTIVITY_LEVELS).fill(0);
  for (const level of levels) counts[level] += 1;
  return counts.map((count) => count / levels.length);
}

function sortedUsers(clients: number[][]): number[] {
  return clients.flat().sort((a, b) => a - b);
}

describe('partitionUsers, cross-silo', () => {
  it('puts every user in exactly one client', () => {
    for (const scheme of ['iid', 'dirichlet'] as const) {
      const clients = partitionUsers(DATASET, { ...CROSS_SILO, scheme });
      expect(clients).toHaveLength(8);
      expect(sortedUsers(clients)).toEqual(ALL_USERS);
    }
  });

  it('partitions only the users it is given', () => {
    const privateUsers = ALL_USERS.filter((user) => user % 3 !== 0);
    for (const scheme of ['iid', 'dirichlet'] as const) {
      const clients = partitionUsers(DATASET, { ...CROSS_SILO, scheme }, privateUsers);
      expect(sortedUsers(clients)).toEqual(privateUsers);
    }
  });

  it('repeats for a seed and changes with another', () => {
    for (const scheme of ['iid', 'dirichlet'] as const) {
      const first = partitionUsers(DATASET, { ...CROSS_SILO, scheme });
      const again = partitionUsers(DATASET, { ...CROSS_SILO, scheme });
      const otherSeed = partitionUsers(DATASET, { ...CROSS_SILO, scheme, seed: 8 });
      expect(again).toEqual(first);
      expect(otherSeed).not.toEqual(first);
    }
  });

  it('gives every client the minimum number of users', () => {
    const clients = partitionUsers(DATASET, { ...CROSS_SILO, minUsersPerClient: 20 });
    for (const users of clients) expect(users.length).toBeGreaterThanOrEqual(20);
  });

  it('skews activity levels more under dirichlet than iid', () => {
    const seeds = [1, 2, 3, 4, 5];
    const meanSkew = (scheme: 'iid' | 'dirichlet') =>
      seeds.reduce((total, seed) => total + activitySkew(DATASET, partitionUsers(DATASET, { ...CROSS_SILO, scheme, seed })), 0) /
      seeds.length;

    const iidSkew = meanSkew('iid');
    const dirichletSkew = meanSkew('dirichlet');
    expect(iidSkew).toBeLessThan(0.25);
    expect(dirichletSkew).toBeGreaterThan(0.35);
    expect(dirichletSkew).toBeGreaterThan(2 * iidSkew);
  });

  it('rejects a missing or invalid number of clients', () => {
    expect(() => partitionUsers(DATASET, { ...CROSS_SILO, clients: undefined })).toThrow(
      'The number of clients is undefined; a cross-silo partition needs a positive integer.',
    );
    expect(() => partitionUsers(DATASET, { ...CROSS_SILO, clients: 2.5 })).toThrow('The number of clients is 2.5');
  });

  it('rejects too few users for the clients', () => {
    expect(() => partitionUsers(DATASET, { ...CROSS_SILO, clients: 50, minUsersPerClient: 10 })).toThrow(
      'The partition has 400 user(s), too few for 50 clients of at least 10 users each.',
    );
  });

  it('rejects a non-positive concentration', () => {
    expect(() => partitionUsers(DATASET, { ...CROSS_SILO, concentration: 0 })).toThrow('The Dirichlet concentration is 0');
  });
});

describe('partitionUsers, cross-device', () => {
  const CROSS_DEVICE: PartitionOptions = { ...CROSS_SILO, setting: 'cross-device', clients: undefined };

  it('gives one client per user', () => {
    for (const scheme of ['iid', 'dirichlet'] as const) {
      const clients = partitionUsers(DATASET, { ...CROSS_DEVICE, scheme });
      expect(clients).toHaveLength(DATASET.users.length);
      expect(clients.every((users) => users.length === 1)).toBe(true);
      expect(sortedUsers(clients)).toEqual(ALL_USERS);
    }
  });

  it('gives client c the user at position c', () => {
    const privateUsers = [12, 3, 399, 0, 250];
    expect(partitionUsers(DATASET, CROSS_DEVICE, privateUsers)).toEqual([[12], [3], [399], [0], [250]]);
  });

  it('accepts a client count equal to the users', () => {
    expect(partitionUsers(DATASET, { ...CROSS_DEVICE, clients: 3 }, [5, 6, 7])).toEqual([[5], [6], [7]]);
  });

  it('rejects a client count other than the users', () => {
    expect(() => partitionUsers(DATASET, { ...CROSS_DEVICE, clients: 8 })).toThrow(
      'A cross-device partition has one client per user, so 400 clients, but clients is 8.',
    );
  });
});

describe('partitionUsers, inputs', () => {
  it('defaults to cross-silo', () => {
    const { setting: _setting, ...withoutSetting } = CROSS_SILO;
    expect(partitionUsers(DATASET, withoutSetting)).toEqual(partitionUsers(DATASET, CROSS_SILO));
  });

  it('rejects an unknown setting', () => {
    const options = { ...CROSS_SILO, setting: 'cross-galaxy' } as unknown as PartitionOptions;
    expect(() => partitionUsers(DATASET, options)).toThrow('The partition setting is "cross-galaxy"');
  });

  it('rejects an unknown scheme', () => {
    const options = { ...CROSS_SILO, scheme: 'sorted' } as unknown as PartitionOptions;
    expect(() => partitionUsers(DATASET, options)).toThrow('The partition scheme is "sorted"');
  });

  it('rejects a user index outside the dataset', () => {
    expect(() => partitionUsers(DATASET, CROSS_SILO, [...ALL_USERS, 400])).toThrow('User index 400 is not in the dataset of 400 users.');
  });

  it('rejects a user listed twice', () => {
    expect(() => partitionUsers(DATASET, CROSS_SILO, [...ALL_USERS, 17])).toThrow('User index 17 is listed more than once.');
  });

  it('rejects an empty list of users', () => {
    expect(() => partitionUsers(DATASET, { ...CROSS_SILO, setting: 'cross-device' }, [])).toThrow('The partition was given no users.');
  });
});

describe('activityLevels', () => {
  it('orders levels by history length', () => {
    const levels = activityLevels(DATASET, ALL_USERS);
    const byLength = ALL_USERS.slice().sort((a, b) => DATASET.users[a].items.length - DATASET.users[b].items.length);
    for (let rank = 1; rank < byLength.length; rank++) {
      const shorter = byLength[rank - 1];
      const longer = byLength[rank];
      if (DATASET.users[shorter].items.length < DATASET.users[longer].items.length) {
        expect(levels[shorter]).toBeLessThanOrEqual(levels[longer]);
      }
    }
    expect(levels[byLength[0]]).toBe(0);
    expect(levels[byLength[byLength.length - 1]]).toBe(ACTIVITY_LEVELS - 1);
  });

  it('fills every level with an equal share', () => {
    const levels = activityLevels(DATASET, ALL_USERS);
    const counts = new Array<number>(ACTIVITY_LEVELS).fill(0);
    for (const level of levels) counts[level] += 1;
    expect(counts).toEqual(new Array<number>(ACTIVITY_LEVELS).fill(400 / ACTIVITY_LEVELS));
  });
});
