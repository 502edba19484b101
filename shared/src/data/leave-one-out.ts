// The leave-one-out split: per user, the last interaction is the test item and the one before it
// the validation item. Users with fewer than three interactions only train.
import { createRandom, shuffleInPlace } from '../random.js';
import type { Dataset, UserHistory } from './dataset.js';

export const NO_ITEM = -1;

export interface UserSplit {
  userId: string;
  /** Training items, oldest first. */
  train: Int32Array;
  /** Held out for model selection and tuning, or NO_ITEM. */
  validation: number;
  /** Held out for the reported metrics, or NO_ITEM. */
  test: number;
}

export const MIN_INTERACTIONS_FOR_EVALUATION = 3;

/**
 * Splits every user. With timestamps the split follows time. Without them it uses a random order
 * drawn from (seed, user id), so a user's split does not depend on the other users, and a
 * client that holds a subset of the users gets the same split as a central run.
 */
export function splitLeaveOneOut(dataset: Dataset, seed: number): UserSplit[] {
  return dataset.users.map((user) => splitUser(user, seed));
}

export function splitUser(user: UserHistory, seed: number): UserSplit {
  const count = user.items.length;
  if (count < MIN_INTERACTIONS_FOR_EVALUATION) {
    return { userId: user.userId, train: user.items.slice(), validation: NO_ITEM, test: NO_ITEM };
  }

  let ordered = user.items;
  if (user.timestamps === null) {
    ordered = shuffleInPlace(user.items.slice(), createRandom(seed, 'leave-one-out', user.userId));
  }
  return {
    userId: user.userId,
    train: ordered.slice(0, count - 2),
    validation: ordered[count - 2],
    test: ordered[count - 1],
  };
}
