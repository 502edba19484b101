// Seeded choice of the cohort: the clients that take part in one round.
//
// Why participation is where non-IID lives in cross-device: a cross-device client stores one
// person's history, so the partition is fixed and there is no assignment left to skew. Each
// client's data already differs from the others' as much as two people's tastes differ. The
// simulation still chooses who takes part in a round. In a real fleet that need not be a uniform
// draw, because whether a device can train at a given time depends on how its owner uses it. A cohort skewed toward one kind of user gives a teacher that leans toward that kind, and the
// next round's cohort may pull it elsewhere. The scheme sets how each cohort is drawn:
// - iid: each round, a uniform sample of clients without replacement;
// - dirichlet: each round, a Dirichlet(concentration) draw over activity levels sets how much of
//   the cohort comes from each level, so some rounds are mostly heavy users and others mostly
//   light ones. Activity levels are the labels of the cross-silo dirichlet partition.
// In cross-silo the partition already carries the skew, and every client can take part in
// every round (a fraction of 1).
import { type Random, createRandom, randomDirichlet, sampleWithoutReplacement } from '@distillate/shared';

import type { PartitionScheme } from './user-partition.js';

/** Cohort size per round: a fraction of the clients, or a number of clients. */
export type CohortSize = { fraction: number } | { clients: number };

export interface RoundCohortOptions {
  scheme: PartitionScheme;
  cohortSize: CohortSize;
  /** Dirichlet concentration over activity levels, for the dirichlet scheme. Smaller values give more skew. */
  concentration: number;
  seed: number;
}

// NOTE: the coordinator still opens every round to all connected clients, so no run uses these cohorts yet.
/**
 * Chooses the clients that take part in round `roundId` and returns their indices, ascending.
 *
 * `clientLevels[c]` is the activity level of client c. In cross-device, where client c has
 * user userIndices[c], that is activityLevels(dataset, userIndices). The iid scheme uses only the
 * number of clients. A fraction is rounded to the nearest whole number of clients, with a
 * minimum of one. The cohort depends only on the seed, the scheme and the round id, so a round can
 * be drawn again without drawing the rounds before it.
 */
export function sampleRoundCohort(clientLevels: readonly number[], roundId: number, options: RoundCohortOptions): number[] {
  const clientCount = clientLevels.length;
  if (clientCount === 0) {
    throw new Error('A round cohort needs at least one client, but clientLevels is empty.');
  }
  if (!Number.isInteger(roundId) || roundId < 0) {
    throw new Error(`The round id is ${roundId}; expected a non-negative integer.`);
  }
  const size = cohortSizeOf(options.cohortSize, clientCount);
  const random = createRandom(options.seed, 'round-cohort', options.scheme, roundId);

  if (options.scheme === 'iid') {
    return ascending(Array.from(sampleWithoutReplacement(clientCount, size, random)));
  }
  if (options.scheme !== 'dirichlet') {
    throw new Error(`The cohort scheme is "${options.scheme}"; expected "iid" or "dirichlet".`);
  }
  if (!(options.concentration > 0)) {
    throw new Error(`The Dirichlet concentration is ${options.concentration}; expected a positive number.`);
  }
  return ascending(dirichletCohort(clientLevels, size, options.concentration, random));
}

function cohortSizeOf(cohortSize: CohortSize, clientCount: number): number {
  if ('fraction' in cohortSize) {
    const { fraction } = cohortSize;
    if (!(fraction > 0 && fraction <= 1)) {
      throw new Error(`The cohort fraction is ${fraction}; expected a number above 0 and at most 1, such as 0.1.`);
    }
    return Math.max(1, Math.round(fraction * clientCount));
  }

  const { clients } = cohortSize;
  if (!Number.isInteger(clients) || clients < 1 || clients > clientCount) {
    throw new Error(`The cohort size is ${clients} clients; expected an integer from 1 to the ${clientCount} clients available.`);
  }
  return clients;
}

/**
 * Draws level shares from Dirichlet(concentration), takes that many clients from each level,
 * and fills any shortfall (a level with fewer clients than its share) uniformly from the clients
 * not yet chosen.
 */
function dirichletCohort(clientLevels: readonly number[], size: number, concentration: number, random: Random): number[] {
  const levels = [...new Set(clientLevels)].sort((a, b) => a - b);
  const clientsByLevel = levels.map((level) => clientLevels.flatMap((clientLevel, client) => (clientLevel === level ? [client] : [])));

  const shares = randomDirichlet(random, concentration, levels.length);
  const quotas = apportion(shares, size);

  const cohort: number[] = [];
  const chosen = new Set<number>();
  clientsByLevel.forEach((clients, index) => {
    const take = Math.min(quotas[index], clients.length);
    for (const position of sampleWithoutReplacement(clients.length, take, random)) {
      cohort.push(clients[position]);
      chosen.add(clients[position]);
    }
  });

  const shortfall = size - cohort.length;
  if (shortfall > 0) {
    const remaining = clientLevels.map((_, client) => client).filter((client) => !chosen.has(client));
    for (const position of sampleWithoutReplacement(remaining.length, shortfall, random)) {
      cohort.push(remaining[position]);
    }
  }
  return cohort;
}

/** Splits `total` into whole numbers proportional to `shares` by largest remainder, so they sum to `total`. */
function apportion(shares: Float64Array, total: number): number[] {
  const exact = Array.from(shares, (share) => share * total);
  const counts = exact.map((value) => Math.floor(value));

  let missing = total - counts.reduce((sum, count) => sum + count, 0);
  const byRemainder = exact.map((_, index) => index).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const index of byRemainder) {
    if (missing <= 0) break;
    counts[index] += 1;
    missing -= 1;
  }
  return counts;
}

function ascending(clients: number[]): number[] {
  return clients.sort((a, b) => a - b);
}
