// FedSplit on a client (Eren et al., 2022, "FedSPLIT: One-Shot Federated Recommendation System
// Based on Non-negative Joint Matrix Factorization and Knowledge Distillation"). One exchange:
// 1. The client factorizes its binary user × item matrix X ≈ W H with non-negative factors and
//    uploads only H, its item patterns.
// 2. The coordinator factorizes all clients' patterns jointly and returns global patterns G.
// 3. For any context x, the teacher's scores are w G, with w ≥ 0 the least-squares weights of x
//    on G. The student learns from its private histories and from these scores, which it
//    distills as the distribution softmax(log(w G + ε)), that is, scores normalized over items.
// The teacher scores the users' own training histories and a seeded sample of single items, so
// the student also learns item-to-item relations from the global patterns.
import {
  type InteractionTable,
  type MatrixShape,
  type RoundMetrics,
  type UserSplit,
  PatternProjector,
  buildDataset,
  createBinaryMatrix,
  createDenseMatrix,
  createRandom,
  deriveIntegerSeed,
  factorizeNonNegative,
  sampleWithoutReplacement,
  splitLeaveOneOut,
} from '@distillate/shared';

import type { FedPddSettings } from './fedpdd-learner.js';
import type { LocalEvaluation, PatternLearner } from './federated-learner.js';
import { readLearnerState, writeLearnerState } from './learner-state-file.js';
import { evaluateStudent, finalEvaluation, roundEvaluation, selectionScore } from './local-evaluation.js';
import { createStudent } from './student/create-student.js';
import type { Student, StudentConfig } from './student/student.js';
import { initializeTensorFlow } from './student/tensorflow-backend.js';
import { type DistillationSet, StudentTrainer } from './training/student-trainer.js';

/** Most local patterns a client uploads. A client with fewer users uploads one per user. */
export const FEDSPLIT_LOCAL_PATTERNS = 16;
/** Single-item contexts the teacher scores, to teach item-to-item relations. */
const ITEM_PROBES = 256;
/** Added to the teacher's scores before their logarithm, so that items no pattern covers keep a small probability. */
const SCORE_FLOOR = 1e-4;

export class FedSplitLearner implements PatternLearner {
  readonly exchange = 'item-patterns';
  readonly exampleCount: number;
  private splits: UserSplit[] = [];
  private itemCount = 0;
  private student: Student | null = null;
  private bestStudent: Student | null = null;
  private trainer: StudentTrainer | null = null;
  private teacher: DistillationSet | null = null;
  private bestScore = Number.NEGATIVE_INFINITY;
  private bestRound = -1;

  private studentConfig: StudentConfig | null = null;
  private resumptions = 0;

  /**
   * Uses the student, training, warmupEpochs (epochs after the global patterns arrive),
   * finalEpochs, teacherWeight and seed of the settings. `stateFile` is where suspend() writes
   * the models; without it the learner cannot be suspended.
   */
  constructor(
    private readonly interactions: InteractionTable,
    private readonly settings: FedPddSettings,
    private readonly stateFile: string | null = null,
  ) {
    this.exampleCount = interactions.users.length;
  }

  async prepare(itemIds: readonly string[]): Promise<void> {
    await initializeTensorFlow();
    const dataset = buildDataset(this.interactions, { itemIds });
    this.splits = splitLeaveOneOut(dataset, this.settings.seed);
    this.itemCount = itemIds.length;

    this.studentConfig = { ...this.settings.student, itemCount: itemIds.length, seed: this.settings.seed } as StudentConfig;
    this.createModels(this.settings.seed);
  }

  /** Writes the students and the teacher's targets to the state file, and frees the students. */
  async suspend(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be suspended; pass one to the constructor.');
    await writeLearnerState(this.stateFile, { student: this.student!.getWeights(), bestStudent: this.bestStudent!.getWeights(), teacher: this.teacher });
    this.trainer?.dispose();
    this.student?.dispose();
    this.bestStudent?.dispose();
    this.student = this.bestStudent = this.trainer = null;
    this.teacher = null;
  }

  /** Reads back what suspend() wrote; the optimizer starts afresh, as in FedPddLearner.resume. */
  async resume(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be resumed; pass one to the constructor.');
    const state = await readLearnerState<{ student: Map<string, Float32Array>; bestStudent: Map<string, Float32Array>; teacher: DistillationSet | null }>(this.stateFile);
    this.resumptions += 1;
    this.createModels(deriveIntegerSeed(this.settings.seed, 'resumption', this.resumptions));
    this.student!.setWeights(state.student);
    this.bestStudent!.setWeights(state.bestStudent);
    this.teacher = state.teacher;
  }

  private createModels(trainerSeed: number): void {
    this.student = createStudent(this.studentConfig!);
    this.bestStudent = createStudent(this.studentConfig!);
    this.trainer = new StudentTrainer(this.student, this.settings.training, trainerSeed);
  }

  async itemPatterns(): Promise<{ values: Float32Array; shape: MatrixShape }> {
    const histories = this.splits.map((split) => split.train).filter((history) => history.length > 0);
    if (histories.length === 0) {
      throw new Error('This client has no training interactions to factorize; give it at least one user with a history.');
    }
    const rank = Math.min(FEDSPLIT_LOCAL_PATTERNS, histories.length, this.itemCount);
    const { h } = factorizeNonNegative(createBinaryMatrix(histories, this.itemCount), { rank, seed: this.settings.seed });
    return { values: h.values, shape: { rows: h.rowCount, columns: h.columnCount } };
  }

  async receiveGlobalPatterns(values: Float32Array, shape: MatrixShape): Promise<void> {
    const projector = new PatternProjector(createDenseMatrix(values, shape.rows, shape.columns));
    const random = createRandom(this.settings.seed, 'fedsplit-item-probes');
    const itemProbes = Array.from(sampleWithoutReplacement(this.itemCount, Math.min(ITEM_PROBES, this.itemCount), random), (item) => Int32Array.of(item));
    const probes = [...this.splits.map((split) => split.train).filter((history) => history.length > 0), ...itemProbes];

    const { scores } = projector.scoreContexts(probes);
    const logits = scores.values.map((score) => Math.log(Math.max(score, 0) + SCORE_FLOOR));
    const candidates = Int32Array.from({ length: this.itemCount }, (_, item) => item);
    this.teacher = { probes, candidates, targets: [{ logits, weight: this.settings.teacherWeight }], temperature: 1 };
    await this.train(this.settings.warmupEpochs);
  }

  async finish(): Promise<LocalEvaluation> {
    await this.train(this.teacher === null ? this.settings.warmupEpochs : this.settings.finalEpochs);
    return finalEvaluation(this.bestStudent!, this.student!, this.splits, this.settings.seed, this.bestRound);
  }

  evaluateRound(): RoundMetrics {
    return roundEvaluation(this.bestStudent!, this.splits, this.settings.seed);
  }

  private async train(epochs: number): Promise<void> {
    const histories = this.splits.map((split) => split.train);
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.trainer!.trainEpoch(histories, this.teacher ? [this.teacher] : []);
      // Yield between epochs so that socket.io can reply to heartbeats during long training.
      await new Promise((resolve) => setImmediate(resolve));
    }

    const score = selectionScore(evaluateStudent(this.student!, this.splits, 'validation', this.settings.seed));
    if (score > this.bestScore) {
      this.bestScore = score;
      this.bestRound = this.teacher === null ? 0 : 1;
      this.bestStudent!.setWeights(this.student!.getWeights());
    }
  }
}
