// Seeded assignment of users to simulated clients (cross-silo: each client holds many users).
//
// Non-IID assignment follows the label-skew scheme of Hsu, Qi and Brown (2019, "Measuring the
// Effects of Non-Identical Data Distribution for Federated Visual Classification"): users get a
// label, and for each label a Dirichlet(concentration) draw splits its users across the clients.
// A user's label is their activity level, the quantile bucket of their history length, so some
// clients hold mostly heavy users and others mostly light ones, as platforms with different
// audiences do. The label needs no metadata, so every dataset can be partitioned this way.
import { type Dataset, type UserHistory, createRandom, randomDirichlet, shuffleInPlace } from '@distillate/shared';

export type PartitionScheme = 'iid' | 'dirichlet';

export interface PartitionOptions {
  clients: number;
  scheme: PartitionScheme;
  /** Dirichlet concentration; smaller is more skewed. */
  concentration: number;
  /** Each client gets at least this many users. */
  minUsersPerClient: number;
  seed: number;
}

export const DEFAULT_PARTITION: Omit<PartitionOptions, 'clients' | 'seed'> = {
  scheme: 'dirichlet',
  concentration: 0.5,
  minUsersPerClient: 10,
};

const LABEL_BUCKETS = 8;
const MAX_DRAWS = 100;

/** Returns, for each client, the indices into dataset.users of the users it holds. */
export function partitionUsers(dataset: Dataset, options: PartitionOptions): number[][] {
  const { clients, minUsersPerClient } = options;
  if (!Number.isInteger(clients) || clients < 1) {
    throw new Error(`The number of clients is ${clients}; expected a positive integer.`);
  }
  if (clients * minUsersPerClient > dataset.users.length) {
    throw new Error(
      `The dataset has ${dataset.users.length} user(s), too few for ${clients} clients of at least ` +
        `${minUsersPerClient} users each. Use fewer clients or a larger dataset.`,
    );
  }

  const random = createRandom(options.seed, 'partition', options.scheme);
  if (options.scheme === 'iid') {
    const order = shuffleInPlace(dataset.users.map((_, index) => index), random);
    return Array.from({ length: clients }, (_, client) => order.filter((_, position) => position % clients === client));
  }

  if (!(options.concentration > 0)) {
    throw new Error(`The Dirichlet concentration is ${options.concentration}; expected a positive number.`);
  }
  const labels = userLabels(dataset.users);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const assignment = dirichletAssignment(labels, clients, options.concentration, random);
    if (assignment.every((users) => users.length >= minUsersPerClient)) return assignment;
  }
  throw new Error(
    `No Dirichlet(${options.concentration}) draw in ${MAX_DRAWS} gave every one of ${clients} clients ` +
      `${minUsersPerClient} users. Raise the concentration or lower the number of clients.`,
  );
}

function dirichletAssignment(labels: number[][], clients: number, concentration: number, random: () => number): number[][] {
  const assignment: number[][] = Array.from({ length: clients }, () => []);
  for (const users of labels) {
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

/** Groups user indices by label: the quantile bucket of history length. */
function userLabels(users: readonly UserHistory[]): number[][] {
  const keys = users.map((user) => user.items.length);
  const order = keys.map((_, index) => index).sort((a, b) => keys[a] - keys[b] || a - b);
  const groups: number[][] = Array.from({ length: LABEL_BUCKETS }, () => []);
  order.forEach((userIndex, rank) => groups[Math.floor((rank * LABEL_BUCKETS) / order.length)].push(userIndex));
  return groups.filter((group) => group.length > 0);
}
