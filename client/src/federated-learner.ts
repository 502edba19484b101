// What the federation client asks of the learning side, so that the protocol code holds no
// learning logic and a developer can bring their own student and training. There is one kind of
// learner per exchange of the federation (see EXCHANGES in the shared protocol).
import type { EvaluationReport, Exchange, LogitUpload, MatrixShape, RoundMetrics, TransferSet } from '@distillate/shared';

export type LocalEvaluation = Omit<EvaluationReport, 'bytesSent' | 'bytesReceived'>;

interface LearnerBase {
  /** The exchange this learner speaks; the client refuses a federation that runs another. */
  readonly exchange: Exchange;

  /** Training interactions held locally, sent at registration. */
  readonly exampleCount: number;

  /** Called once with the federation's catalog, before the first round. */
  prepare(itemIds: readonly string[]): Promise<void>;

  /** Runs the last local training and evaluates on the local users. */
  finish(): Promise<LocalEvaluation>;

  /** Evaluates the model the client would report now; called after each round when the coordinator collects round metrics. */
  evaluateRound?(): RoundMetrics | Promise<RoundMetrics>;

  /**
   * Writes the learner's models to its state file and frees their memory. Until resume() the
   * learner may only be resumed. Learners that support it let one process host many clients.
   */
  suspend?(): Promise<void>;

  /** Reads back what suspend() wrote. */
  resume?(): Promise<void>;

  /** Writes the models and the learning progress to `file`, keeping them in memory, so that a restarted client goes on from there. */
  checkpoint?(file: string): Promise<void>;

  /** Reads back what checkpoint() wrote; called after prepare(). */
  restoreCheckpoint?(file: string): Promise<void>;
}

/** Distillation learners (fedpdd, fedmd, dsfl): logits on a transfer set out, teacher logits in. */
export interface LogitLearner extends LearnerBase {
  readonly exchange: 'logits';

  /** Trains for one round and returns the logits and evidence on the round's transfer set. */
  answerRound(transferSet: TransferSet): Promise<LogitUpload>;

  /** Receives the teacher of a round: [probes × candidates] logits on that round's transfer set. */
  receiveTeacher(transferSet: TransferSet, teacherLogits: Float32Array): void | Promise<void>;
}

/** Parameter-averaging learners (fedavg): the student's weights out, the average in. */
export interface ParameterLearner extends LearnerBase {
  readonly exchange: 'parameters';

  /** Trains for one round from the latest global weights and returns the student's weights as one vector. */
  localUpdate(roundId: number): Promise<Float32Array>;

  /** Receives the average of the round's uploaded weights. */
  receiveGlobalParameters(roundId: number, parameters: Float32Array): void | Promise<void>;
}

/** One-shot pattern learners (fedsplit): local item patterns out, global item patterns in. */
export interface PatternLearner extends LearnerBase {
  readonly exchange: 'item-patterns';

  /** Factorizes the local data and returns its non-negative item patterns [patterns × items]. */
  itemPatterns(): Promise<{ values: Float32Array; shape: MatrixShape }>;

  /** Receives the global item patterns [patterns × items] and trains the student from them. */
  receiveGlobalPatterns(values: Float32Array, shape: MatrixShape): Promise<void>;
}

export type FederatedLearner = LogitLearner | ParameterLearner | PatternLearner;
