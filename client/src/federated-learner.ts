// What the federation client asks of the learning side, so that the protocol code holds no
// learning logic and a developer can bring their own student and training.
import type { EvaluationReport, LogitUpload, TransferSet } from '@distillate/shared';

export type LocalEvaluation = Omit<EvaluationReport, 'bytesSent' | 'bytesReceived'>;

export interface FederatedLearner {
  /** Training interactions held locally, sent at registration. */
  readonly exampleCount: number;

  /** Called once with the federation's catalog, before the first round. */
  prepare(itemIds: readonly string[]): Promise<void>;

  /** Trains for one round and returns the logits and evidence on the round's transfer set. */
  answerRound(transferSet: TransferSet): Promise<LogitUpload>;

  /** Receives the teacher of a round: [probes × candidates] logits on that round's transfer set. */
  receiveTeacher(transferSet: TransferSet, teacherLogits: Float32Array): void;

  /** Runs the last local training and evaluates on the local users. */
  finish(): Promise<LocalEvaluation>;
}
