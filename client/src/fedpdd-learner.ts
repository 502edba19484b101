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
  type TransferSet,
  type UserSplit,
  buildDataset,
  probeContexts,
  splitLeaveOneOut,
} from '@distillate/shared';

import type { FederatedLearner, LocalEvaluation } from './federated-learner.js';
import { evaluateStudent, selectionScore } from './local-evaluation.js';
import { PooledEmbeddingStudent } from './student/pooled-embedding-student.js';
import { scoreContextsInBatches } from './student/scoring.js';
import type { StudentConfig } from './student/student.js';
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

interface Teacher {
  roundId: number;
  probes: Int32Array[];
  candidates: Int32Array;
  logits: Float32Array;
  /** Logits of the best past student on the same probes, or null before there is one. */
  selfLogits: Float32Array | null;
}

export class FedPddLearner implements FederatedLearner {
  readonly exampleCount: number;
  private splits: UserSplit[] = [];
  private student: PooledEmbeddingStudent | null = null;
  private bestStudent: PooledEmbeddingStudent | null = null;
  /** Copy of the student taken after warm-up, when uploadModel is 'local-expert'. */
  private localExpert: PooledEmbeddingStudent | null = null;
  private trainer: StudentTrainer | null = null;
  private evidence = new Float32Array(0);
  private readonly teachers: Teacher[] = [];
  private bestScore = Number.NEGATIVE_INFINITY;
  private bestRound = -1;
  private roundsAnswered = 0;

  constructor(
    private readonly interactions: InteractionTable,
    private readonly settings: FedPddSettings = DEFAULT_FEDPDD_SETTINGS,
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
    this.student = new PooledEmbeddingStudent(config);
    this.bestStudent = new PooledEmbeddingStudent(config);
    if (this.settings.uploadModel === 'local-expert') this.localExpert = new PooledEmbeddingStudent(config);
    this.trainer = new StudentTrainer(this.student, this.settings.training, this.settings.seed);
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
    await this.train(this.settings.finalEpochs);
    const best = this.bestStudent!;
    return {
      test: evaluateStudent(best, this.splits, 'test', this.settings.seed),
      validation: evaluateStudent(best, this.splits, 'validation', this.settings.seed),
      finalStudentValidation: evaluateStudent(this.requireStudent(), this.splits, 'validation', this.settings.seed),
      bestRound: this.bestRound,
    };
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

  private requireStudent(): PooledEmbeddingStudent {
    if (this.student === null) throw new Error('The learner is not prepared; the federation client calls prepare() after registration.');
    return this.student;
  }
}
