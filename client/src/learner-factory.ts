// The algorithms a client can run, and the learner each one needs. fedmd and dsfl use FedPDD's
// learner with its second distillation term switched off and the current student scoring the
// transfer set, as both papers do. They differ on the coordinator: FedMD averages the logits and
// DS-FL applies entropy reduction. fedavg exchanges parameters instead of logits, and fedsplit
// exchanges item patterns once.
import type { InteractionTable } from '@distillate/shared';

import { FedAvgLearner } from './fedavg-learner.js';
import type { FederatedLearner } from './federated-learner.js';
import { FedPddLearner, type FedPddSettings } from './fedpdd-learner.js';
import { FedSplitLearner } from './fedsplit-learner.js';

export const CLIENT_ALGORITHMS = ['fedpdd', 'fedmd', 'dsfl', 'fedavg', 'fedsplit'] as const;
export type ClientAlgorithm = (typeof CLIENT_ALGORITHMS)[number];

/**
 * Builds the learner of `algorithm` from the client's settings. The algorithm fixes the fields
 * that define it (for fedmd and dsfl: selfWeight 0 and uploadModel 'student'), over any value
 * the settings give them. With a `stateFile` the learner can be suspended to it (see
 * FederatedLearner.suspend).
 */
export function createLearner(
  algorithm: string,
  interactions: InteractionTable,
  settings: FedPddSettings,
  stateFile: string | null = null,
): FederatedLearner {
  switch (algorithm) {
    case 'fedpdd':
      return new FedPddLearner(interactions, settings, stateFile);

    case 'fedmd':
    case 'dsfl':
      return new FedPddLearner(interactions, { ...settings, selfWeight: 0, uploadModel: 'student' }, stateFile);

    case 'fedavg':
      return new FedAvgLearner(interactions, {
        student: settings.student,
        training: settings.training,
        localEpochs: settings.localEpochs,
        finalEpochs: settings.finalEpochs,
        seed: settings.seed,
      }, stateFile);

    case 'fedsplit':
      return new FedSplitLearner(interactions, settings, stateFile);

    default:
      throw new Error(`Unknown algorithm "${algorithm}"; expected one of ${CLIENT_ALGORITHMS.join(', ')}.`);
  }
}
