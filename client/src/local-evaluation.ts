import {
  type EvaluationPurpose,
  type EvaluationSums,
  type RoundMetrics,
  type UserSplit,
  evaluateScorer,
  metricMeans,
} from '@distillate/shared';

import type { LocalEvaluation } from './federated-learner.js';
import { scoreContexts } from './student/scoring.js';
import type { Student } from './student/student.js';

/** Evaluates a student on the users' held-out items, under both protocols. */
export function evaluateStudent(
  student: Student,
  splits: readonly UserSplit[],
  purpose: EvaluationPurpose,
  seed: number,
): EvaluationSums {
  return evaluateScorer(splits, student.config.itemCount, (contexts) => scoreContexts(student, contexts), {
    purpose,
    seed,
  });
}

/**
 * The score that model selection maximises: validation NDCG@10 under full ranking plus under the
 * sampled protocol. The sampled term steadies the choice on the few users of one client, where
 * full-ranking hits are rare.
 */
export function selectionScore(validation: EvaluationSums): number {
  return metricMeans(validation.full).ndcg[10] + metricMeans(validation.sampled).ndcg[10];
}

/** Evaluates what a client reports at the end: its best past student on test and validation, and its final student on validation. */
export function finalEvaluation(
  best: Student,
  final: Student,
  splits: readonly UserSplit[],
  seed: number,
  bestRound: number,
): LocalEvaluation {
  return {
    test: evaluateStudent(best, splits, 'test', seed),
    validation: evaluateStudent(best, splits, 'validation', seed),
    finalStudentValidation: evaluateStudent(final, splits, 'validation', seed),
    bestRound,
  };
}

/** Evaluates the best past student after a round, for the coordinator's per-round metrics. */
export function roundEvaluation(best: Student, splits: readonly UserSplit[], seed: number): RoundMetrics {
  return {
    test: evaluateStudent(best, splits, 'test', seed),
    validation: evaluateStudent(best, splits, 'validation', seed),
  };
}
