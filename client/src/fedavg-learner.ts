// FedAvg on a client (McMahan et al., 2017): each round the student starts from the global
// weights, trains on the private histories for a few epochs, and uploads all its weights. It is
// the reference that distillation is measured against: the same student and training, but
// parameters cross the network instead of logits, so every client must run the same architecture.
//
// As in FedPDD, each client reports its best model on local validation, chosen among the global
// models it received and its locally trained students. A few local epochs after the last round
// fine-tune it to the client's users.
import { type InteractionTable, type RoundMetrics, type UserSplit, buildDataset, deriveIntegerSeed, splitLeaveOneOut } from '@distillate/shared';

import type { LocalEvaluation, ParameterLearner } from './federated-learner.js';
import { readLearnerState, writeLearnerState } from './learner-state-file.js';
import { evaluateStudent, finalEvaluation, roundEvaluation, selectionScore } from './local-evaluation.js';
import { createStudent } from './student/create-student.js';
import type { Student, StudentConfig } from './student/student.js';
import { initializeTensorFlow } from './student/tensorflow-backend.js';
import { StudentTrainer, type TrainingConfig } from './training/student-trainer.js';

export interface FedAvgSettings {
  student: Omit<StudentConfig, 'itemCount' | 'seed'>;
  training: TrainingConfig;
  /** Local epochs in every round, starting from the global weights. */
  localEpochs: number;
  /** Local epochs after the last global model, before evaluation. */
  finalEpochs: number;
  /** Seed of initialisation, training order, the split and the sampled negatives. Clients share it, so they start from the same weights. */
  seed: number;
}

export class FedAvgLearner implements ParameterLearner {
  readonly exchange = 'parameters';
  readonly exampleCount: number;
  private splits: UserSplit[] = [];
  private student: Student | null = null;
  private bestStudent: Student | null = null;
  private trainer: StudentTrainer | null = null;
  private bestScore = Number.NEGATIVE_INFINITY;
  private bestRound = -1;
  private roundsAnswered = 0;

  private studentConfig: StudentConfig | null = null;
  private resumptions = 0;

  /** `stateFile` is where suspend() writes the models; without it the learner cannot be suspended. */
  constructor(
    private readonly interactions: InteractionTable,
    private readonly settings: FedAvgSettings,
    private readonly stateFile: string | null = null,
  ) {
    this.exampleCount = interactions.users.length;
  }

  async prepare(itemIds: readonly string[]): Promise<void> {
    await initializeTensorFlow();
    const dataset = buildDataset(this.interactions, { itemIds });
    this.splits = splitLeaveOneOut(dataset, this.settings.seed);

    this.studentConfig = { ...this.settings.student, itemCount: itemIds.length, seed: this.settings.seed } as StudentConfig;
    this.createModels(this.settings.seed);
  }

  /** Writes the student and the best past student to the state file, and frees them. */
  async suspend(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be suspended; pass one to the constructor.');
    await writeLearnerState(this.stateFile, { student: this.requireStudent().getWeights(), bestStudent: this.bestStudent!.getWeights() });
    this.trainer?.dispose();
    this.student?.dispose();
    this.bestStudent?.dispose();
    this.student = this.bestStudent = this.trainer = null;
  }

  /** Reads back what suspend() wrote; the optimizer starts afresh, as in FedPddLearner.resume. */
  async resume(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be resumed; pass one to the constructor.');
    const state = await readLearnerState<{ student: Map<string, Float32Array>; bestStudent: Map<string, Float32Array> }>(this.stateFile);
    this.resumptions += 1;
    this.createModels(deriveIntegerSeed(this.settings.seed, 'resumption', this.resumptions));
    this.student!.setWeights(state.student);
    this.bestStudent!.setWeights(state.bestStudent);
  }

  private createModels(trainerSeed: number): void {
    this.student = createStudent(this.studentConfig!);
    this.bestStudent = createStudent(this.studentConfig!);
    this.trainer = new StudentTrainer(this.student, this.settings.training, trainerSeed);
  }

  async localUpdate(): Promise<Float32Array> {
    await this.train(this.settings.localEpochs);
    this.roundsAnswered += 1;
    return flattenWeights(this.requireStudent().getWeights());
  }

  receiveGlobalParameters(roundId: number, parameters: Float32Array): void {
    const student = this.requireStudent();
    student.setWeights(unflattenWeights(parameters, student.getWeights(), roundId));
    this.updateBestStudent();
  }

  async finish(): Promise<LocalEvaluation> {
    await this.train(this.settings.finalEpochs);
    return finalEvaluation(this.bestStudent!, this.requireStudent(), this.splits, this.settings.seed, this.bestRound);
  }

  evaluateRound(): RoundMetrics {
    return roundEvaluation(this.bestStudent!, this.splits, this.settings.seed);
  }

  private async train(epochs: number): Promise<void> {
    const histories = this.splits.map((split) => split.train);
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.trainer!.trainEpoch(histories, []);
      // Yield between epochs so that socket.io can reply to heartbeats during long training.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.updateBestStudent();
  }

  private updateBestStudent(): void {
    const student = this.requireStudent();
    const score = selectionScore(evaluateStudent(student, this.splits, 'validation', this.settings.seed));
    if (score <= this.bestScore) return;

    this.bestScore = score;
    this.bestRound = this.roundsAnswered;
    this.bestStudent!.setWeights(student.getWeights());
  }

  private requireStudent(): Student {
    if (this.student === null) throw new Error('The learner is not prepared; the federation client calls prepare() after registration.');
    return this.student;
  }
}

/** Concatenates the named weights in their map order, which is fixed by the architecture. */
export function flattenWeights(weights: ReadonlyMap<string, Float32Array>): Float32Array {
  const flat = new Float32Array([...weights.values()].reduce((total, values) => total + values.length, 0));
  let offset = 0;
  for (const values of weights.values()) {
    flat.set(values, offset);
    offset += values.length;
  }
  return flat;
}

/** Splits a flat vector back into the layout of `like`. */
export function unflattenWeights(flat: Float32Array, like: ReadonlyMap<string, Float32Array>, roundId: number): Map<string, Float32Array> {
  const expected = [...like.values()].reduce((total, values) => total + values.length, 0);
  if (flat.length !== expected) {
    throw new Error(
      `The global parameters of round ${roundId} hold ${flat.length} values but this student has ${expected}. ` +
        'Every client of a fedavg federation must run the same student architecture and size.',
    );
  }

  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const [name, values] of like) {
    weights.set(name, flat.slice(offset, offset + values.length));
    offset += values.length;
  }
  return weights;
}
