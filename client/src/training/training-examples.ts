// Builds the examples of one recommendation step: for each user a corrupted context and the
// items to predict, as denoising autoencoders for collaborative filtering do.
import { type Random, randomInteger } from '@distillate/shared';

export interface RecommendationExample {
  context: Int32Array;
  targets: Int32Array;
}

/**
 * Drops each history item from the context with probability 1 − keepProbability, keeping at least
 * one. With targets 'all' the student learns to rebuild the whole history from a part; with
 * 'dropped' it predicts only the items it cannot see, which is closer to ranking an unseen
 * held-out item. A history of one item is its own context and target.
 */
export function corruptHistory(
  history: Int32Array,
  keepProbability: number,
  targets: 'all' | 'dropped',
  random: Random,
  singleItemShare = 0,
): RecommendationExample {
  if (history.length <= 1) return { context: history, targets: history };
  if (singleItemShare > 0 && random() < singleItemShare) {
    const position = randomInteger(random, history.length);
    const context = history.subarray(position, position + 1);
    return { context, targets: targets === 'all' ? history : Int32Array.from(history.filter((_, k) => k !== position)) };
  }

  const kept: number[] = [];
  const dropped: number[] = [];
  for (let k = 0; k < history.length; k++) {
    if (random() < keepProbability) kept.push(history[k]);
    else dropped.push(history[k]);
  }
  if (kept.length === 0) kept.push(dropped.splice(randomInteger(random, dropped.length), 1)[0]);
  if (dropped.length === 0) dropped.push(kept.splice(randomInteger(random, kept.length), 1)[0]);
  return {
    context: Int32Array.from(kept),
    targets: targets === 'all' ? history : Int32Array.from(dropped),
  };
}

/** Dense [examples × itemCount] target distributions: uniform over each example's targets. */
export function targetDistributions(examples: readonly RecommendationExample[], itemCount: number): Float32Array {
  const dense = new Float32Array(examples.length * itemCount);
  examples.forEach((example, row) => {
    const mass = 1 / Math.max(example.targets.length, 1);
    for (let k = 0; k < example.targets.length; k++) dense[row * itemCount + example.targets[k]] = mass;
  });
  return dense;
}
