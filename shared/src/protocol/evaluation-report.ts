// The end-of-federation report a client sends (encrypted like an upload): metric sums over its
// own users and the bytes it exchanged. The coordinator adds the sums of all clients.
import { z } from 'zod';

const metricSumsSchema = z
  .object({
    users: z.number().int().min(0),
    hitRate: z.object({ 10: z.number().min(0), 20: z.number().min(0) }),
    ndcg: z.object({ 10: z.number().min(0), 20: z.number().min(0) }),
    reciprocalRank: z.number().min(0),
  })
  .refine(
    (sums) =>
      [sums.hitRate[10], sums.hitRate[20], sums.ndcg[10], sums.ndcg[20], sums.reciprocalRank].every(
        (value) => Number.isFinite(value) && value <= sums.users,
      ),
    { message: 'every metric sum must be finite and at most the number of users' },
  );

const evaluationSumsSchema = z.object({ full: metricSumsSchema, sampled: metricSumsSchema });

export const evaluationReportSchema = z.object({
  test: evaluationSumsSchema,
  validation: evaluationSumsSchema,
  /**
   * Validation sums of the final student. No selection on the validation items has favoured it,
   * unlike the best past student behind `validation`, so settings can be compared on it.
   */
  finalStudentValidation: evaluationSumsSchema,
  bytesSent: z.number().int().min(0),
  bytesReceived: z.number().int().min(0),
  /** Round after which the client's best past student was saved, or -1 before the first round. */
  bestRound: z.number().int().min(-1),
});
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

/**
 * Metric sums a client sends after each round when the coordinator requests them (simulations
 * do, to chart learning per round): its current best student on its own users' held-out items.
 */
export const roundMetricsSchema = z.object({
  test: evaluationSumsSchema,
  validation: evaluationSumsSchema,
});
export type RoundMetrics = z.infer<typeof roundMetricsSchema>;
