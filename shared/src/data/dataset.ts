// An indexed interaction dataset: items are numbered 0..itemCount-1 in catalog order, and each
// user's history is kept in chronological order.
import type { InteractionTable } from './interaction-table.js';

export interface UserHistory {
  userId: string;
  /** Item indices, oldest first (file order when there are no timestamps). */
  items: Int32Array;
  /** Seconds since the Unix epoch, aligned with `items`, or null without timestamps. */
  timestamps: Float64Array | null;
}

export interface Dataset {
  source: string;
  /** External item id of each item index: the catalog. */
  itemIds: string[];
  users: UserHistory[];
  interactionCount: number;
  hasTimestamps: boolean;
}

export interface BuildDatasetOptions {
  /** Keep only interactions whose value is at least this (a rating threshold). Default: keep all. */
  minValue?: number;
  /** A fixed catalog; every item in the table must be in it. Default: the table's items. */
  itemIds?: readonly string[];
}

/** Compares ids numerically when both are integers, else as strings, so "2" sorts before "10". */
export function compareIds(a: string, b: string): number {
  const numericA = /^-?\d+$/.test(a);
  const numericB = /^-?\d+$/.test(b);
  if (numericA && numericB) return Number(a) - Number(b);
  if (numericA !== numericB) return numericA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Indexes a table as implicit feedback: every kept row is a positive. A (user, item) pair seen
 * more than once keeps its latest interaction.
 */
export function buildDataset(table: InteractionTable, options: BuildDatasetOptions = {}): Dataset {
  const minValue = options.minValue ?? Number.NEGATIVE_INFINITY;
  const itemIds = options.itemIds
    ? [...options.itemIds]
    : [...new Set(table.items)].sort(compareIds);
  const itemIndex = new Map(itemIds.map((id, index) => [id, index]));

  const rowsByUser = new Map<string, number[]>();
  for (let row = 0; row < table.users.length; row++) {
    if (table.values[row] < minValue) continue;
    if (!itemIndex.has(table.items[row])) {
      throw new Error(
        `Item "${table.items[row]}" of user "${table.users[row]}" in ${table.source} is not in ` +
          'the catalog. Use the catalog the dataset was built with, or drop the interaction.',
      );
    }
    let rows = rowsByUser.get(table.users[row]);
    if (rows === undefined) {
      rows = [];
      rowsByUser.set(table.users[row], rows);
    }
    rows.push(row);
  }

  const timestamps = table.timestamps;
  const users: UserHistory[] = [];
  let interactionCount = 0;
  for (const userId of [...rowsByUser.keys()].sort(compareIds)) {
    const rows = rowsByUser.get(userId)!;

    // Stable sort by time keeps file order among equal timestamps.
    if (timestamps) rows.sort((a, b) => timestamps[a] - timestamps[b] || a - b);

    // Walk newest first so that the latest interaction with an item wins, then restore order.
    const seen = new Set<number>();
    const keptRows: number[] = [];
    for (let k = rows.length - 1; k >= 0; k--) {
      const item = itemIndex.get(table.items[rows[k]])!;
      if (seen.has(item)) continue;
      seen.add(item);
      keptRows.push(rows[k]);
    }
    keptRows.reverse();

    users.push({
      userId,
      items: Int32Array.from(keptRows, (row) => itemIndex.get(table.items[row])!),
      timestamps: timestamps ? Float64Array.from(keptRows, (row) => timestamps[row]) : null,
    });
    interactionCount += keptRows.length;
  }

  if (users.length === 0) {
    throw new Error(
      `No interactions in ${table.source} have a value of at least ${minValue}. Lower the ` +
        'rating threshold.',
    );
  }
  return { source: table.source, itemIds, users, interactionCount, hasTimestamps: timestamps !== null };
}

/**
 * Serialises users' histories as a CSV of user,item,value[,timestamp], with value 1 because every
 * kept interaction is a positive. Reading it back with the same catalog gives the same histories.
 */
export function formatInteractionsCsv(dataset: Dataset, users: readonly UserHistory[]): string {
  const lines = [dataset.hasTimestamps ? 'user,item,value,timestamp' : 'user,item,value'];
  for (const user of users) {
    for (let k = 0; k < user.items.length; k++) {
      const itemId = dataset.itemIds[user.items[k]];
      lines.push(
        user.timestamps
          ? `${user.userId},${itemId},1,${user.timestamps[k]}`
          : `${user.userId},${itemId},1`,
      );
    }
  }
  return lines.join('\n') + '\n';
}
