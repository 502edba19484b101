import {
  type EvaluationPurpose,
  type EvaluationSums,
  type UserSplit,
  evaluateScorer,
  metricMeans,
} from '@distillate/shared';

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
