// Interactions in columnar form: one row per (user, item, value, timestamp), as read from a file.

export interface InteractionTable {
  /** Where the rows came from, for messages and reports. */
  source: string;
  users: string[];
  items: string[];
  /** A rating or a count; 1 when the file has no value column. */
  values: Float64Array;
  /** Seconds since the Unix epoch, or null when the file has no timestamp column. */
  timestamps: Float64Array | null;
}

/** Collects rows one at a time and packs them into an InteractionTable. */
export class InteractionTableBuilder {
  private readonly users: string[] = [];
  private readonly items: string[] = [];
  private readonly values: number[] = [];
  private readonly timestamps: number[] = [];

  constructor(
    private readonly source: string,
    private readonly hasTimestamps: boolean,
  ) {}

  add(user: string, item: string, value: number, timestamp?: number): void {
    this.users.push(user);
    this.items.push(item);
    this.values.push(value);
    if (this.hasTimestamps) this.timestamps.push(timestamp ?? 0);
  }

  get length(): number {
    return this.users.length;
  }

  build(): InteractionTable {
    return {
      source: this.source,
      users: this.users,
      items: this.items,
      values: Float64Array.from(this.values),
      timestamps: this.hasTimestamps ? Float64Array.from(this.timestamps) : null,
    };
  }
}

/** Row indices of each user, in file order: an index for taking users out of a table with selectUsers. */
export function rowsByUser(table: InteractionTable): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  table.users.forEach((user, row) => {
    const own = rows.get(user);
    if (own) own.push(row);
    else rows.set(user, [row]);
  });
  return rows;
}

/** Returns the rows of the given users, in the order of `userIds`. A user without rows adds none. */
export function selectUsers(table: InteractionTable, userIds: readonly string[], index: ReadonlyMap<string, number[]> = rowsByUser(table)): InteractionTable {
  const rows = userIds.flatMap((user) => index.get(user) ?? []);
  return {
    source: `${table.source} (${userIds.length} users)`,
    users: rows.map((row) => table.users[row]),
    items: rows.map((row) => table.items[row]),
    values: Float64Array.from(rows, (row) => table.values[row]),
    timestamps: table.timestamps ? Float64Array.from(rows, (row) => table.timestamps![row]) : null,
  };
}
