// Seeded assignment of simulated users to clients, in the two federated settings:
// - cross-silo: K clients, each an organization with many users;
// - cross-device: one client per user, as when every person runs the desktop app.
//
// Non-IID cross-silo assignment follows the label-skew scheme of Hsu, Qi and Brown (2019,
// "Measuring the Effects of Non-Identical Data Distribution for Federated Visual Classification"):
// users get a label, and for each label a Dirichlet(concentration) draw splits its users across
// the clients. A user's label is their activity level, the quantile bucket of their history
// length, so some clients hold mostly heavy users and others mostly light ones, as platforms
// with different audiences do. The label needs no metadata, so every dataset can be partitioned
// this way. In cross-device the assignment is fixed, and the same labels skew which clients take
// part in each round instead (see round-cohorts.ts).
import { type Dataset, createRandom, randomDirichlet, shuffleInPlace } from '@distillate/shared';

/** How many clients hold the users: many users per client, or one. */
export type PartitionSetting = 'cross-silo' | 'cross-device';

/**
 * Scheme of non-IID data. In cross-silo it governs which users each client gets. In
 * cross-device every client has one user, so it governs which clients take part in a round.
 */
export type PartitionScheme = 'iid' | 'dirichlet';

export interface PartitionOptions {
  /** Default: cross-silo. */
  setting?: PartitionSetting;
  scheme: PartitionScheme;
  /**
   * Number of clients. Required in cross-silo. In cross-device it equals the number of users
   * partitioned, and a different value is rejected.
   */
  clients?: number;
  /** Dirichlet concentration of the cross-silo dirichlet scheme. Smaller values give more skew. */
  concentration: number;
  /** Each cross-silo client gets at least this many users. Cross-device clients have exactly one. */
  minUsersPerClient: number;
  seed: number;
}

export const DEFAULT_PARTITION: Omit<PartitionOptions, 'clients' | 'seed'> = {
  setting: 'cross-silo',
  scheme: 'dirichlet',
  concentration: 0.5,
  minUsersPerClient: 10,
};

/** Number of activity levels: users are bucketed into this many quantiles of history length. */
export const ACTIVITY_LEVELS = 8;

const MAX_DRAWS = 100;

/**
 * Assigns users to clients and returns, for each client, the indices into dataset.users of the
 * users it holds. Every listed user lands in exactly one client.
 *
 * `userIndices` limits the partition to those users, such as the private users left after
 * public users are chosen. Default: every user. In cross-device, client c gets user userIndices[c].
 */
export function partitionUsers(
  dataset: Dataset,
  options: PartitionOptions,
  userIndices: readonly number[] = dataset.users.map((_, index) => index),
): number[][] {
  validateUserIndices(dataset, userIndices);

  const setting = options.setting ?? 'cross-silo';
  if (setting === 'cross-device') return partitionCrossDevice(userIndices, options);
  if (setting === 'cross-silo') return partitionCrossSilo(dataset, userIndices, options);
  throw new Error(`The partition setting is "${setting}"; expected "cross-silo" or "cross-device".`);
}

/**
 * Returns the activity level of each listed user, aligned with `userIndices`: 0 for the shortest
 * histories up to ACTIVITY_LEVELS - 1 for the longest. Levels are quantiles of history length
 * among the listed users, and equal lengths are ordered by user index.
 */
export function activityLevels(dataset: Dataset, userIndices: readonly number[]): number[] {
  const levels = new Array<number>(userIndices.length);
  rankByActivity(dataset, userIndices).forEach((position, rank) => {
    levels[position] = Math.floor((rank * ACTIVITY_LEVELS) / userIndices.length);
  });
  return levels;
}

function partitionCrossDevice(userIndices: readonly number[], options: PartitionOptions): number[][] {
  if (options.clients !== undefined && options.clients !== userIndices.length) {
    throw new Error(
      `A cross-device partition has one client per user, so ${userIndices.length} clients, but clients is ` +
        `${options.clients}. Leave clients unset or set it to ${userIndices.length}.`,
    );
  }
  return userIndices.map((user) => [user]);
}

function partitionCrossSilo(dataset: Dataset, userIndices: readonly number[], options: PartitionOptions): number[][] {
  const { clients, minUsersPerClient } = options;
  if (clients === undefined || !Number.isInteger(clients) || clients < 1) {
    throw new Error(`The number of clients is ${clients}; a cross-silo partition needs a positive integer.`);
  }
  if (!Number.isInteger(minUsersPerClient) || minUsersPerClient < 0) {
    throw new Error(`The minimum number of users per client is ${minUsersPerClient}; expected a non-negative integer.`);
  }
  if (clients * minUsersPerClient > userIndices.length) {
    throw new Error(
      `The partition has ${userIndices.length} user(s), too few for ${clients} clients of at least ` +
        `${minUsersPerClient} users each. Use fewer clients or a larger dataset.`,
    );
  }

  const random = createRandom(options.seed, 'partition', options.scheme);
  if (options.scheme === 'iid') {
    const order = shuffleInPlace(userIndices.slice(), random);
    return Array.from({ length: clients }, (_, client) => order.filter((_, position) => position % clients === client));
  }
  if (options.scheme !== 'dirichlet') {
    throw new Error(`The partition scheme is "${options.scheme}"; expected "iid" or "dirichlet".`);
  }

  if (!(options.concentration > 0)) {
    throw new Error(`The Dirichlet concentration is ${options.concentration}; expected a positive number.`);
  }
  const groups = activityGroups(dataset, userIndices);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const assignment = dirichletAssignment(groups, clients, options.concentration, random);
    if (assignment.every((users) => users.length >= minUsersPerClient)) return assignment;
  }
  throw new Error(
    `No Dirichlet(${options.concentration}) draw in ${MAX_DRAWS} gave every one of ${clients} clients ` +
      `${minUsersPerClient} users. Raise the concentration or lower the number of clients.`,
  );
}

function dirichletAssignment(groups: number[][], clients: number, concentration: number, random: () => number): number[][] {
  const assignment: number[][] = Array.from({ length: clients }, () => []);
  for (const users of groups) {
    const shares = randomDirichlet(random, concentration, clients);
    const shuffled = shuffleInPlace(users.slice(), random);
    let start = 0;
    let cumulative = 0;
    for (let client = 0; client < clients; client++) {
      cumulative += shares[client];
      const end = client === clients - 1 ? shuffled.length : Math.round(cumulative * shuffled.length);
      assignment[client].push(...shuffled.slice(start, end));
      start = end;
    }
  }
  for (const users of assignment) users.sort((a, b) => a - b);
  return assignment;
}

/** Groups user indices by activity level, each group in order of history length, empty levels dropped. */
function activityGroups(dataset: Dataset, userIndices: readonly number[]): number[][] {
  const groups: number[][] = Array.from({ length: ACTIVITY_LEVELS }, () => []);
  rankByActivity(dataset, userIndices).forEach((position, rank) => {
    groups[Math.floor((rank * ACTIVITY_LEVELS) / userIndices.length)].push(userIndices[position]);
  });
  return groups.filter((group) => group.length > 0);
}

/** Returns positions into userIndices, ordered by history length and then by user index. */
function rankByActivity(dataset: Dataset, userIndices: readonly number[]): number[] {
  const lengths = userIndices.map((user) => dataset.users[user].items.length);
  return userIndices
    .map((_, position) => position)
    .sort((a, b) => lengths[a] - lengths[b] || userIndices[a] - userIndices[b]);
}

function validateUserIndices(dataset: Dataset, userIndices: readonly number[]): void {
  if (userIndices.length === 0) {
    throw new Error('The partition was given no users. Pass at least one user index, or leave userIndices unset for all users.');
  }

  const seen = new Set<number>();
  for (const user of userIndices) {
    if (!Number.isInteger(user) || user < 0 || user >= dataset.users.length) {
      throw new Error(`User index ${user} is not in the dataset of ${dataset.users.length} users. Pass indices into dataset.users.`);
    }
    if (seen.has(user)) {
      throw new Error(`User index ${user} is listed more than once. Pass each user once, so that they land in one client.`);
    }
    seen.add(user);
  }
}
