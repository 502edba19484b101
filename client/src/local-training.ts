// Training a student on local data alone, with model selection on validation: the `local`
// and `central` references of a simulation, and a client that does not federate.
import type { EvaluationSums, UserSplit } from '@distillate/shared';

import { evaluateStudent, selectionScore } from './local-evaluation.js';
import type { Student } from './student/student.js';
import { StudentTrainer, type TrainingConfig } from './training/student-trainer.js';

export interface LocalTrainingOptions {
  training: TrainingConfig;
  maxEpochs: number;
  /** Validation is measured every this many epochs. */
  evaluateEvery: number;
  /** Stop after this many evaluations without improvement. */
  patience: number;
  seed: number;
}

export interface LocalTrainingResult {
  /** Epochs after which the selected weights were taken. */
  bestEpoch: number;
  epochsRun: number;
  validation: EvaluationSums;
  test: EvaluationSums;
}

/**
 * Trains `student` on the training items of `splits`, keeps the weights with the best validation
 * score, restores them, and evaluates them on the test items.
 */
export async function trainLocally(
  student: Student,
  splits: readonly UserSplit[],
  options: LocalTrainingOptions,
): Promise<LocalTrainingResult> {
  const trainer = new StudentTrainer(student, options.training, options.seed);
  const histories = splits.map((split) => split.train);
  let best = { score: Number.NEGATIVE_INFINITY, epoch: 0, weights: student.getWeights() };
  let evaluationsWithoutGain = 0;
  let epoch = 0;

  while (epoch < options.maxEpochs && evaluationsWithoutGain < options.patience) {
    trainer.trainEpoch(histories);
    epoch += 1;
    await new Promise((resolve) => setImmediate(resolve));
    if (epoch % options.evaluateEvery !== 0 && epoch !== options.maxEpochs) continue;

    const score = selectionScore(evaluateStudent(student, splits, 'validation', options.seed));
    if (score > best.score) {
      best = { score, epoch, weights: student.getWeights() };
      evaluationsWithoutGain = 0;
    } else {
      evaluationsWithoutGain += 1;
    }
  }
  trainer.dispose();

  student.setWeights(best.weights);
  return {
    bestEpoch: best.epoch,
    epochsRun: epoch,
    validation: evaluateStudent(student, splits, 'validation', options.seed),
    test: evaluateStudent(student, splits, 'test', options.seed),
  };
}
