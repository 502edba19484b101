import { createRandom, randomInteger } from '../random.js';

export const SAMPLED_NEGATIVES = 99;

/**
 * Draws the negatives of the sampled protocol for one user: `count` distinct items, uniform
 * over the catalog, none of them in `interacted` (which must include the held-out item). The
 * draw depends only on (seed, user id, purpose), so central and federated evaluations of the
 * same user rank against the same negatives.
 */
export function sampleNegatives(
  itemCount: number,
  interacted: ReadonlySet<number>,
  seed: number,
  userId: string,
  purpose: 'validation' | 'test',
  count: number = SAMPLED_NEGATIVES,
): Int32Array {
  const available = itemCount - interacted.size;
  if (available < count) {
    throw new Error(
      `User "${userId}" has interacted with ${interacted.size} of ${itemCount} items, which ` +
        `leaves fewer than the ${count} negatives the sampled protocol needs.`,
    );
  }

  const random = createRandom(seed, 'negatives', purpose, userId);
  const chosen = new Set<number>();
  const negatives = new Int32Array(count);
  let filled = 0;
  while (filled < count) {
    const item = randomInteger(random, itemCount);
    if (interacted.has(item) || chosen.has(item)) continue;
    chosen.add(item);
    negatives[filled++] = item;
  }
  return negatives;
}
