// FedPDD on a client: each round the student minimises
//   L = L_rec(private histories)
//     + α · τ² · KL(softmax(teacher / τ) ‖ softmax(student / τ))        on the teachers' probes
//     + β · τ² · KL(softmax(best past student / τ) ‖ softmax(student / τ))  on the same probes
// where the best past student is the client's own best student so far on local validation.
// The second distillation term is the double distillation of FedPDD (Wan et al., 2023, "FedPDD:
// A Privacy-preserving Double Distillation Framework for Cross-silo Federated Recommendation"):
// it keeps the client from forgetting what it learned when the teacher is noisy.
//
// The uploadModel setting chooses which model scores the transfer set. With 'student' it is the
// current student, as in FedMD, so each teacher partly repeats the teachers before it. With
// 'local-expert' it is a copy of the student taken when warm-up ends, trained on private data
// alone. Each upload then reflects only the client's own data, and the teacher stays an
// ensemble of independent local models while the students keep learning from it.
import {
  type InteractionTable,
  type LogitUpload,
  type RoundMetrics,
  type TransferSet,
  type UserSplit,
  buildDataset,
  deriveIntegerSeed,
  probeContexts,
  splitLeaveOneOut,
} from '@distillate/shared';

import type { LocalEvaluation, LogitLearner } from './federated-learner.js';
import { readLearnerState, writeLearnerState } from './learner-state-file.js';
import { evaluateStudent, finalEvaluation, roundEvaluation, selectionScore } from './local-evaluation.js';
import { createStudent } from './student/create-student.js';
import { scoreContextsInBatches } from './student/scoring.js';
import type { Student, StudentConfig } from './student/student.js';
import { initializeTensorFlow } from './student/tensorflow-backend.js';
import { type DistillationSet, StudentTrainer, type TrainingConfig, DEFAULT_TRAINING_CONFIG } from './training/student-trainer.js';

export interface FedPddSettings {
  student: Omit<StudentConfig, 'itemCount' | 'seed'>;
  training: TrainingConfig;
  /** Local epochs before the first upload. */
  warmupEpochs: number;
  /** Local epochs in every later round. */
  localEpochs: number;
  /** Local epochs after the last teacher, before evaluation. */
  finalEpochs: number;
  /** α: weight of distillation from the teacher. */
  teacherWeight: number;
  /** β: weight of distillation from the client's best past student. */
  selfWeight: number;
  /** τ: distillation temperature. */
  temperature: number;
  /** Teachers of this many recent rounds are distilled each round. */
  teacherMemoryRounds: number;
  /** Model that scores the transfer set: the current student, or a copy of the student taken after warm-up. */
  uploadModel: UploadModel;
  /** Seed of initialisation, training order, the split and the sampled negatives. */
  seed: number;
}

export const DEFAULT_FEDPDD_SETTINGS: FedPddSettings = {
  student: { architecture: 'pooled-embedding', embeddingDim: 64, hiddenDim: 0, maxContextLength: 100, recencyHalfLife: 5 },
  training: { ...DEFAULT_TRAINING_CONFIG, learningRate: 0.01 },
  warmupEpochs: 30,
  localEpochs: 3,
  finalEpochs: 3,
  teacherWeight: 1,
  selfWeight: 0.5,
  temperature: 5,
  teacherMemoryRounds: 8,
  uploadModel: 'local-expert',
  seed: 1,
};

export const UPLOAD_MODELS = ['student', 'local-expert'] as const;
export type UploadModel = (typeof UPLOAD_MODELS)[number];

/** State that suspend() writes: the models' weights and the remembered teachers. */
interface SuspendedFedPdd {
  student: Map<string, Float32Array>;
  bestStudent: Map<string, Float32Array>;
  localExpert: Map<string, Float32Array> | null;
  teachers: Array<Omit<Teacher, 'selfLogits'>>;
}

/** State that checkpoint() writes: the suspended state and the learner's progress, enough for a new process to go on. */
interface FedPddCheckpoint extends SuspendedFedPdd {
  format: 'fedpdd-checkpoint';
  version: 1;
  roundsAnswered: number;
  bestScore: number;
  bestRound: number;
}

interface Teacher {
  roundId: number;
  probes: Int32Array[];
  candidates: Int32Array;
  logits: Float32Array;
  /** Logits of the best past student on the same probes, or null before there is one. */
  selfLogits: Float32Array | null;
}

export class FedPddLearner implements LogitLearner {
  readonly exchange = 'logits';
  readonly exampleCount: number;
  private splits: UserSplit[] = [];
  private student: Student | null = null;
  private bestStudent: Student | null = null;
  /** Copy of the student taken after warm-up, when uploadModel is 'local-expert'. */
  private localExpert: Student | null = null;
  private trainer: StudentTrainer | null = null;
  private evidence = new Float32Array(0);
  private readonly teachers: Teacher[] = [];
  private bestScore = Number.NEGATIVE_INFINITY;
  private bestRound = -1;
  private roundsAnswered = 0;

  private studentConfig: StudentConfig | null = null;
  private resumptions = 0;

  /** `stateFile` is where suspend() writes the models; without it the learner cannot be suspended. */
  constructor(
    private readonly interactions: InteractionTable,
    private readonly settings: FedPddSettings = DEFAULT_FEDPDD_SETTINGS,
    private readonly stateFile: string | null = null,
  ) {
    this.exampleCount = interactions.users.length;
  }

  async prepare(itemIds: readonly string[]): Promise<void> {
    await initializeTensorFlow();
    const dataset = buildDataset(this.interactions, { itemIds });
    this.splits = splitLeaveOneOut(dataset, this.settings.seed);

    this.evidence = new Float32Array(itemIds.length);
    for (const split of this.splits) for (const item of split.train) this.evidence[item] += 1;

    const config: StudentConfig = { ...this.settings.student, itemCount: itemIds.length, seed: this.settings.seed };
    if (!UPLOAD_MODELS.includes(this.settings.uploadModel)) {
      throw new Error(`Invalid uploadModel "${String(this.settings.uploadModel)}"; set it to one of ${UPLOAD_MODELS.join(', ')}.`);
    }
    this.studentConfig = config;
    this.createModels(this.settings.seed);
  }

  /** Writes the students and the remembered teachers to the state file, and frees them. */
  async suspend(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be suspended; pass one to the constructor.');
    await writeLearnerState(this.stateFile, this.suspendedState());

    this.disposeModels();
    this.teachers.length = 0;
  }

  /**
   * Writes the models, the remembered teachers and the learner's progress to `file`, keeping
   * everything in memory. A client process that restarts reads it back with restoreCheckpoint().
   */
  async checkpoint(file: string): Promise<void> {
    const checkpoint: FedPddCheckpoint = {
      format: 'fedpdd-checkpoint',
      version: 1,
      ...this.suspendedState(),
      roundsAnswered: this.roundsAnswered,
      bestScore: this.bestScore,
      bestRound: this.bestRound,
    };
    await writeLearnerState(file, checkpoint);
  }

  /** Reads back what checkpoint() wrote; call it after prepare(), with the same catalog and student settings. */
  async restoreCheckpoint(file: string): Promise<void> {
    const checkpoint = await readLearnerState<FedPddCheckpoint>(file);
    if (checkpoint?.format !== 'fedpdd-checkpoint' || checkpoint.version !== 1) {
      throw new Error(`${file} is not a FedPDD checkpoint of version 1. Delete it to start this client's learning afresh.`);
    }
    try {
      this.requireStudent().setWeights(checkpoint.student);
      this.bestStudent!.setWeights(checkpoint.bestStudent);
      if (checkpoint.localExpert) this.localExpert?.setWeights(checkpoint.localExpert);
    } catch (error) {
      throw new Error(
        `The checkpoint ${file} does not fit this client's student (${(error as Error).message}). ` +
          'It was written for another catalog or student size; delete it to start afresh.',
      );
    }
    this.teachers.length = 0;
    this.teachers.push(...checkpoint.teachers.map((teacher) => ({ ...teacher, selfLogits: null })));
    this.roundsAnswered = checkpoint.roundsAnswered;
    this.bestScore = checkpoint.bestScore;
    this.bestRound = checkpoint.bestRound;
  }

  /**
   * Reads back what suspend() wrote. The optimizer starts afresh, as the optimizers of
   * cross-device clients usually do, with a seed that depends on how often it was resumed.
   */
  async resume(): Promise<void> {
    if (this.stateFile === null) throw new Error('This learner has no state file, so it cannot be resumed; pass one to the constructor.');
    const state = await readLearnerState<SuspendedFedPdd>(this.stateFile);
    this.resumptions += 1;
    this.createModels(deriveIntegerSeed(this.settings.seed, 'resumption', this.resumptions));
    this.student!.setWeights(state.student);
    this.bestStudent!.setWeights(state.bestStudent);
    if (state.localExpert) this.localExpert?.setWeights(state.localExpert);
    this.teachers.push(...state.teachers.map((teacher) => ({ ...teacher, selfLogits: null })));
  }

  private suspendedState(): SuspendedFedPdd {
    return {
      student: this.requireStudent().getWeights(),
      bestStudent: this.bestStudent!.getWeights(),
      localExpert: this.localExpert?.getWeights() ?? null,
      teachers: this.teachers.map(({ selfLogits: _selfLogits, ...teacher }) => teacher),
    };
  }

  private createModels(trainerSeed: number): void {
    const config = this.studentConfig!;
    this.student = createStudent(config);
    this.bestStudent = createStudent(config);
    if (this.settings.uploadModel === 'local-expert') this.localExpert = createStudent(config);
    this.trainer = new StudentTrainer(this.student, this.settings.training, trainerSeed);
  }

  private disposeModels(): void {
    this.trainer?.dispose();
    for (const model of [this.student, this.bestStudent, this.localExpert]) model?.dispose();
    this.student = this.bestStudent = this.localExpert = null;
    this.trainer = null;
  }

  async answerRound(transferSet: TransferSet): Promise<LogitUpload> {
    const warmingUp = this.roundsAnswered === 0;
    await this.train(warmingUp ? this.settings.warmupEpochs : this.settings.localEpochs);
    this.roundsAnswered += 1;

    const student = this.requireStudent();
    if (warmingUp && this.localExpert) this.localExpert.setWeights(student.getWeights());

    const probes = probeContexts(transferSet);
    return {
      logits: scoreContextsInBatches(this.localExpert ?? student, probes, transferSet.candidates),
      probeEvidence: Float32Array.from(probes, (context) => context.reduce((total, item) => total + this.evidence[item], 0)),
      candidateEvidence: Float32Array.from(transferSet.candidates, (item) => this.evidence[item]),
    };
  }

  receiveTeacher(transferSet: TransferSet, teacherLogits: Float32Array): void {
    // A client restored from a checkpoint may be sent a teacher it already remembers.
    if (this.teachers.some((teacher) => teacher.roundId === transferSet.roundId)) return;
    this.teachers.push({
      roundId: transferSet.roundId,
      probes: probeContexts(transferSet),
      candidates: transferSet.candidates,
      logits: teacherLogits,
      selfLogits: null,
    });
    while (this.teachers.length > this.settings.teacherMemoryRounds) this.teachers.shift();
  }

  async finish(): Promise<LocalEvaluation> {
    // A client that was never sampled for a round has not trained yet: it warms up instead.
    await this.train(this.roundsAnswered === 0 ? this.settings.warmupEpochs : this.settings.finalEpochs);
    return finalEvaluation(this.bestStudent!, this.requireStudent(), this.splits, this.settings.seed, this.bestRound);
  }

  evaluateRound(): RoundMetrics {
    return roundEvaluation(this.bestStudent!, this.splits, this.settings.seed);
  }

  private async train(epochs: number): Promise<void> {
    const histories = this.splits.map((split) => split.train);
    const distillation = this.distillationSets();
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.trainer!.trainEpoch(histories, distillation);
      // Yield between epochs so that socket.io heartbeats are answered during long training.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.updateBestStudent();
  }

  private distillationSets(): DistillationSet[] {
    return this.teachers.map((teacher) => {
      const targets = [{ logits: teacher.logits, weight: this.settings.teacherWeight }];
      if (this.bestRound >= 0 && this.settings.selfWeight > 0) {
        teacher.selfLogits ??= scoreContextsInBatches(this.bestStudent!, teacher.probes, teacher.candidates);
        targets.push({ logits: teacher.selfLogits, weight: this.settings.selfWeight });
      }
      return { probes: teacher.probes, candidates: teacher.candidates, targets, temperature: this.settings.temperature };
    });
  }

  private updateBestStudent(): void {
    const student = this.requireStudent();
    const score = selectionScore(evaluateStudent(student, this.splits, 'validation', this.settings.seed));
    if (score <= this.bestScore) return;

    this.bestScore = score;
    this.bestRound = this.roundsAnswered;
    this.bestStudent!.setWeights(student.getWeights());
    // The best past student changed, so its logits on the remembered probes are stale.
    for (const teacher of this.teachers) teacher.selfLogits = null;
  }

  private requireStudent(): Student {
    if (this.student === null) throw new Error('The learner is not prepared; the federation client calls prepare() after registration.');
    return this.student;
  }
}
