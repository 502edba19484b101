import { type Dataset, NO_ITEM, buildDataset, parseInteractions, splitLeaveOneOut } from '@distillate/shared';
import { describe, expect, it } from 'vitest';

import { choosePublicUsers } from '../src/public-users.js';
import { partitionUsers } from '../src/user-partition.js';

/**
 * Users 1..userCount with 1 to 12 distinct items each, so that some users are too short to be
 * evaluated. With timestamps, file order is the reverse of time order, so that the two orders
 * can be distinguished.
 */
function syntheticDataset(userCount: number, withTimestamps: boolean): Dataset {
  const lines = [withTimestamps ? 'user,item,value,timestamp' : 'user,item,value'];
  for (let user = 1; user <= userCount; user++) {
    const length = 1 + ((user * 5) % 12);
    for (let position = 0; position < length; position++) {
      const item = (user * 11 + position * 17) % 97;
      lines.push(withTimestamps ? `${user},${item},1,${1000 - position}` : `${user},${item},1`);
    }
  }
  return buildDataset(parseInteractions(lines.join('\n'), 'synthetic.csv', 'delimited'));
}

const SPLIT_SEED = 3;

describe('choosePublicUsers', () => {
  for (const withTimestamps of [true, false]) {
    const label = withTimestamps ? 'with timestamps' : 'without timestamps';
    const dataset = syntheticDataset(200, withTimestamps);
    const splits = splitLeaveOneOut(dataset, SPLIT_SEED);

    it(`separates public from private users, ${label}`, () => {
      const { publicUsers, privateUsers } = choosePublicUsers(dataset, splits, { fraction: 0.2, seed: 1 });
      const publicSet = new Set(publicUsers);
      expect(privateUsers.some((user) => publicSet.has(user))).toBe(false);
      expect([...publicUsers, ...privateUsers].sort((a, b) => a - b)).toEqual(dataset.users.map((_, user) => user));
    });

    it(`keeps held-out items out of probes, ${label}`, () => {
      const { publicUsers, publicHistories } = choosePublicUsers(dataset, splits, { fraction: 0.5, seed: 1 });
      expect(publicHistories).toHaveLength(publicUsers.length);
      publicUsers.forEach((user, index) => {
        const probe = Array.from(publicHistories[index]);
        const { validation, test } = splits[user];
        if (validation !== NO_ITEM) expect(probe).not.toContain(validation);
        if (test !== NO_ITEM) expect(probe).not.toContain(test);
        expect([...probe].sort((a, b) => a - b)).toEqual(Array.from(splits[user].train).sort((a, b) => a - b));
      });
    });

    it(`keeps probes in history order, ${label}`, () => {
      const { publicUsers, publicHistories } = choosePublicUsers(dataset, splits, { fraction: 0.5, seed: 1 });
      publicUsers.forEach((user, index) => {
        const history = Array.from(dataset.users[user].items);
        const positions = Array.from(publicHistories[index], (item) => history.indexOf(item));
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      });
    });
  }

  const dataset = syntheticDataset(200, true);
  const splits = splitLeaveOneOut(dataset, SPLIT_SEED);

  it('includes short users whole', () => {
    const { publicUsers, publicHistories } = choosePublicUsers(dataset, splits, { fraction: 0.9, seed: 1 });
    const shortUsers = publicUsers.filter((user) => dataset.users[user].items.length < 3);
    expect(shortUsers.length).toBeGreaterThan(0);
    for (const user of shortUsers) {
      expect(publicHistories[publicUsers.indexOf(user)]).toEqual(dataset.users[user].items);
    }
  });

  it('makes the requested fraction public', () => {
    for (const [fraction, expected] of [[0, 0], [0.1, 20], [0.25, 50], [0.29, 58], [0.5, 100], [0.9, 180]]) {
      const { publicUsers, privateUsers } = choosePublicUsers(dataset, splits, { fraction, seed: 1 });
      expect(publicUsers).toHaveLength(expected);
      expect(privateUsers).toHaveLength(200 - expected);
    }
  });

  it('leaves at least one private user', () => {
    const { publicUsers, privateUsers } = choosePublicUsers(dataset, splits, { fraction: 0.999, seed: 1 });
    expect(publicUsers).toHaveLength(199);
    expect(privateUsers).toHaveLength(1);
  });

  it('repeats for a seed and changes with another', () => {
    const first = choosePublicUsers(dataset, splits, { fraction: 0.2, seed: 1 });
    expect(choosePublicUsers(dataset, splits, { fraction: 0.2, seed: 1 })).toEqual(first);
    expect(choosePublicUsers(dataset, splits, { fraction: 0.2, seed: 2 }).publicUsers).not.toEqual(first.publicUsers);
  });

  it('leaves public users out of every client', () => {
    const { publicUsers, privateUsers } = choosePublicUsers(dataset, splits, { fraction: 0.2, seed: 1 });
    const clients = partitionUsers(
      dataset,
      { setting: 'cross-silo', scheme: 'dirichlet', clients: 4, concentration: 0.5, minUsersPerClient: 5, seed: 1 },
      privateUsers,
    );
    const assignedUsers = new Set(clients.flat());
    expect(publicUsers.some((user) => assignedUsers.has(user))).toBe(false);
    expect(assignedUsers.size).toBe(privateUsers.length);
  });

  it('rejects a fraction outside [0, 1)', () => {
    for (const fraction of [-0.1, 1, 1.5, Number.NaN]) {
      expect(() => choosePublicUsers(dataset, splits, { fraction, seed: 1 })).toThrow(
        `The public-user fraction is ${fraction}; expected a number from 0 up to but not including 1`,
      );
    }
  });

  it('rejects splits of another dataset', () => {
    expect(() => choosePublicUsers(dataset, splits.slice(1), { fraction: 0.2, seed: 1 })).toThrow(
      'There are 199 leave-one-out splits for 200 users.',
    );
    expect(() => choosePublicUsers(dataset, splits.slice().reverse(), { fraction: 0.2, seed: 1 })).toThrow('Split 0 belongs to user');
  });
});
