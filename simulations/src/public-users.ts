// Seeded choice of public users: simulated users who publish their history. Their histories become
// public-user probes of the transfer set, and the users leave the federation: no client has them
// and no evaluation counts them, so no metric is measured on a user whose history the teacher saw.
import { type Dataset, type UserSplit, NO_ITEM, createRandom, sampleWithoutReplacement } from '@distillate/shared';

export interface PublicUserOptions {
  /** Fraction of users made public, from 0 up to but not including 1. */
  fraction: number;
  seed: number;
}

export interface PublicUserChoice {
  /** Indices into dataset.users of the public users, ascending. */
  publicUsers: number[];
  /**
   * Training items of each public user, aligned with publicUsers and in history order: oldest
   * first, or file order without timestamps. Validation and test items are left out.
   */
  publicHistories: Int32Array[];
  /** Indices into dataset.users of the other users, ascending: partition these into clients. */
  privateUsers: number[];
}

// NOTE: the coordinator's transfer-set sampler draws only single-item seed probes, so no run sends these histories yet.
/**
 * Chooses a uniform sample of users to make public and returns their training histories as
 * probes, together with the private users left for the clients.
 *
 * `splits` must be the leave-one-out split of `dataset` that the run evaluates with, aligned with
 * dataset.users, so that no held-out item reaches a probe. The number of public users is the
 * fraction of all users rounded to the nearest integer, but at least one user stays private.
 */
export function choosePublicUsers(dataset: Dataset, splits: readonly UserSplit[], options: PublicUserOptions): PublicUserChoice {
  const { fraction } = options;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new Error(`The public-user fraction is ${fraction}; expected a number from 0 up to but not including 1, such as 0.1.`);
  }
  validateSplits(dataset, splits);

  const userCount = dataset.users.length;
  const publicCount = Math.min(Math.round(fraction * userCount), userCount - 1);
  const random = createRandom(options.seed, 'public-users');
  const publicUsers = Array.from(sampleWithoutReplacement(userCount, publicCount, random)).sort((a, b) => a - b);

  const isPublic = new Set(publicUsers);
  const privateUsers = dataset.users.map((_, user) => user).filter((user) => !isPublic.has(user));

  const publicHistories = publicUsers.map((user) => trainingHistory(dataset.users[user].items, splits[user]));
  return { publicUsers, publicHistories, privateUsers };
}

/**
 * Returns the user's items without the validation and test items, in history order. The split's
 * own training items are not used, because without timestamps they come in a shuffled order.
 */
function trainingHistory(items: Int32Array, split: UserSplit): Int32Array {
  const heldOut = [split.validation, split.test].filter((item) => item !== NO_ITEM);
  return items.filter((item) => !heldOut.includes(item));
}

function validateSplits(dataset: Dataset, splits: readonly UserSplit[]): void {
  if (splits.length !== dataset.users.length) {
    throw new Error(
      `There are ${splits.length} leave-one-out splits for ${dataset.users.length} users. ` +
        'Pass splitLeaveOneOut(dataset, seed) for the same dataset.',
    );
  }
  splits.forEach((split, user) => {
    if (split.userId !== dataset.users[user].userId) {
      throw new Error(
        `Split ${user} belongs to user "${split.userId}" but dataset user ${user} is "${dataset.users[user].userId}". ` +
          'Pass the splits in dataset order, as splitLeaveOneOut returns them.',
      );
    }
  });
}
