import { describe, expect, it } from 'vitest';

import { NO_ITEM, buildDataset, formatInteractionsCsv, parseInteractions, splitLeaveOneOut } from '../src/index.js';

const CSV = [
  'user,item,value,timestamp',
  'u1,a,5,30',
  'u1,b,4,10',
  'u1,c,3,20',
  'u1,d,2,40',
  'u1,b,1,50', // a repeat of (u1, b): the later one wins
  'u2,a,5,1',
  'u2,c,5,2',
  'u10,d,1,7',
].join('\n');

describe('buildDataset', () => {
  const dataset = buildDataset(parseInteractions(CSV, 'toy.csv', 'delimited'));

  it('indexes items in id order', () => {
    expect(dataset.itemIds).toEqual(['a', 'b', 'c', 'd']);
  });

  it('orders users numerically aware', () => {
    expect(dataset.users.map((user) => user.userId)).toEqual(['u1', 'u10', 'u2']);
  });

  it('keeps the latest of repeated interactions, in time order', () => {
    const u1 = dataset.users[0];
    expect(Array.from(u1.items)).toEqual([2, 0, 3, 1]); // c@20, a@30, d@40, b@50
    expect(Array.from(u1.timestamps!)).toEqual([20, 30, 40, 50]);
    expect(dataset.interactionCount).toBe(7);
  });

  it('applies a rating threshold', () => {
    const liked = buildDataset(parseInteractions(CSV, 'toy.csv', 'delimited'), { minValue: 4 });
    expect(liked.users.map((user) => user.userId)).toEqual(['u1', 'u2']);
    expect(Array.from(liked.users[0].items)).toEqual([1, 0]); // b@10 (value 4), a@30; b@50 has value 1
  });

  it('rejects an item outside a fixed catalog', () => {
    expect(() => buildDataset(parseInteractions(CSV, 'toy.csv', 'delimited'), { itemIds: ['a', 'b', 'c'] })).toThrow(
      'Item "d" of user "u1" in toy.csv is not in the catalog',
    );
  });

  it('round-trips through formatInteractionsCsv', () => {
    const again = buildDataset(parseInteractions(formatInteractionsCsv(dataset, dataset.users), 'again.csv', 'delimited'), {
      itemIds: dataset.itemIds,
    });
    expect(again.users).toEqual(dataset.users);
  });
});

describe('splitLeaveOneOut', () => {
  it('holds out the last item for test and the one before for validation', () => {
    const dataset = buildDataset(parseInteractions(CSV, 'toy.csv', 'delimited'));
    const [u1, u10, u2] = splitLeaveOneOut(dataset, 1);
    expect(Array.from(u1.train)).toEqual([2, 0]);
    expect(u1.validation).toBe(3);
    expect(u1.test).toBe(1);
    expect(u10).toEqual({ userId: 'u10', train: Int32Array.of(3), validation: NO_ITEM, test: NO_ITEM });
    expect(u2.test).toBe(NO_ITEM);
  });

  it('splits data without timestamps by a seeded shuffle', () => {
    const text = ['user,item', ...'abcdefgh'.split('').map((item) => `u,${item}`)].join('\n');
    const dataset = buildDataset(parseInteractions(text, 'untimed.csv', 'delimited'));
    const first = splitLeaveOneOut(dataset, 7)[0];
    const again = splitLeaveOneOut(dataset, 7)[0];
    const other = splitLeaveOneOut(dataset, 8)[0];

    expect(again).toEqual(first);
    expect(new Set([...first.train, first.validation, first.test])).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    expect([other.validation, other.test]).not.toEqual([first.validation, first.test]);
  });

  it('gives a user the same split whatever other users are present', () => {
    const dataset = buildDataset(parseInteractions(['user,item', 'x,1', 'x,2', 'x,3', 'x,4', 'y,1', 'y,5'].join('\n'), 'a.csv', 'delimited'));
    const alone = buildDataset(parseInteractions(['user,item', 'x,1', 'x,2', 'x,3', 'x,4'].join('\n'), 'b.csv', 'delimited'), {
      itemIds: dataset.itemIds,
    });
    expect(splitLeaveOneOut(alone, 3)[0]).toEqual(splitLeaveOneOut(dataset, 3)[0]);
  });
});
