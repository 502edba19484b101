import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { type InteractionTable, createRandom, randomInteger, transferSetFromContexts } from '@distillate/shared';
import { describe, expect, it } from 'vitest';

import { DEFAULT_FEDPDD_SETTINGS, FedPddLearner } from '../src/index.js';

const itemIds = Array.from({ length: 120 }, (_, index) => String(index));

/** 30 users with 8 to 20 interactions each, drawn from a seeded generator. */
function syntheticInteractions(): InteractionTable {
  const random = createRandom(11, 'synthetic');
  const users: string[] = [];
  const items: string[] = [];
  const timestamps: number[] = [];
  for (let user = 0; user < 30; user++) {
    const count = 8 + randomInteger(random, 13);
    for (let k = 0; k < count; k++) {
      users.push(`u${user}`);
      items.push(itemIds[(user * 3 + randomInteger(random, 40)) % itemIds.length]);
      timestamps.push(k);
    }
  }
  return { source: 'synthetic', users, items, values: new Float64Array(users.length).fill(1), timestamps: Float64Array.from(timestamps) };
}

const settings = {
  ...DEFAULT_FEDPDD_SETTINGS,
  student: { ...DEFAULT_FEDPDD_SETTINGS.student, embeddingDim: 8 },
  warmupEpochs: 2,
  localEpochs: 1,
  finalEpochs: 1,
  teacherMemoryRounds: 2,
};

describe('FedPddLearner', () => {
  it('answers with logits and evidence of the transfer set shape', async () => {
    const interactions = syntheticInteractions();
    const learner = new FedPddLearner(interactions, settings);
    await learner.prepare(itemIds);
    const transferSet = transferSetFromContexts(1, [Int32Array.of(3), Int32Array.of(5)], Int32Array.of(3, 4, 5, 6, 7));

    const upload = await learner.answerRound(transferSet);
    expect(upload.logits.length).toBe(10);
    expect(upload.logits.every(Number.isFinite)).toBe(true);
    expect(upload.probeEvidence.length).toBe(2);
    expect(upload.candidateEvidence.length).toBe(5);
    expect(upload.candidateEvidence.every((count) => Number.isInteger(count) && count >= 0)).toBe(true);
    expect(upload.probeEvidence[0]).toBe(upload.candidateEvidence[0]);
  });

  it('keeps the number of live tensors flat from round to round', async () => {
    const learner = new FedPddLearner(syntheticInteractions(), settings);
    await learner.prepare(itemIds);
    const random = createRandom(2, 'rounds');
    const liveTensors: number[] = [];

    for (let roundId = 1; roundId <= 5; roundId++) {
      const probes = Array.from({ length: 6 }, () => Int32Array.of(randomInteger(random, 120)));
      const candidates = Int32Array.from({ length: 20 }, (_, k) => (roundId * 7 + k * 5) % 120);
      const transferSet = transferSetFromContexts(roundId, probes, candidates);
      const upload = await learner.answerRound(transferSet);
      learner.receiveTeacher(transferSet, upload.logits.map((value) => value + 0.1));
      liveTensors.push(tf.memory().numTensors);
    }

    // Rounds 1 and 2 may create optimizer slots; after that nothing may accumulate.
    expect(liveTensors[3]).toBe(liveTensors[2]);
    expect(liveTensors[4]).toBe(liveTensors[2]);
  });

  it('uploads from the warm-up copy or the current student', async () => {
    const transferSet = (roundId: number) =>
      transferSetFromContexts(roundId, [Int32Array.of(3), Int32Array.of(9)], Int32Array.of(3, 4, 5, 6, 9, 10));
    const uploadsOverTwoRounds = async (uploadModel: 'student' | 'local-expert') => {
      const learner = new FedPddLearner(syntheticInteractions(), { ...settings, uploadModel });
      await learner.prepare(itemIds);
      const first = await learner.answerRound(transferSet(1));
      // A teacher unlike the students, so that the next round's training moves the student.
      learner.receiveTeacher(transferSet(1), first.logits.map((_, k) => (k % 6) * 3));
      const second = await learner.answerRound(transferSet(2));
      return [first.logits, second.logits];
    };

    const [expertFirst, expertSecond] = await uploadsOverTwoRounds('local-expert');
    expect(expertSecond).toEqual(expertFirst);

    const [studentFirst, studentSecond] = await uploadsOverTwoRounds('student');
    expect(studentFirst).toEqual(expertFirst);
    expect(studentSecond).not.toEqual(studentFirst);
  });

  it('rejects an unknown upload model', async () => {
    const learner = new FedPddLearner(syntheticInteractions(), { ...settings, uploadModel: 'teacher' as never });
    await expect(learner.prepare(itemIds)).rejects.toThrow(/Invalid uploadModel "teacher"; set it to one of student, local-expert/);
  });

  it('evaluates its best student on local users', async () => {
    const learner = new FedPddLearner(syntheticInteractions(), settings);
    await learner.prepare(itemIds);
    const transferSet = transferSetFromContexts(1, [Int32Array.of(1)], Int32Array.of(1, 2, 3));
    await learner.answerRound(transferSet);
    const evaluation = await learner.finish();
    expect(evaluation.test.full.users).toBe(30);
    expect(evaluation.test.sampled.users).toBe(30);
    expect(evaluation.validation.full.users).toBe(30);
    expect(evaluation.finalStudentValidation.full.users).toBe(30);
    expect(evaluation.bestRound).toBeGreaterThanOrEqual(0);
  });

  it('suspends and resumes its models', async () => {
    const stateFile = path.join(await mkdtemp(path.join(tmpdir(), 'distillate-learner-')), 'state.bin');
    const learner = new FedPddLearner(syntheticInteractions(), settings, stateFile);
    await learner.prepare(itemIds);
    const transferSet = transferSetFromContexts(1, [Int32Array.of(3), Int32Array.of(5)], Int32Array.of(3, 4, 5, 6, 7));
    const upload = await learner.answerRound(transferSet);
    await learner.receiveTeacher(transferSet, upload.logits.map((value) => value * 2));
    const before = learner.evaluateRound();
    const tensorsBefore = tf.memory().numTensors;

    await learner.suspend();
    expect(tf.memory().numTensors).toBeLessThan(tensorsBefore);
    expect(() => learner.evaluateRound()).toThrow();

    await learner.resume();
    expect(learner.evaluateRound()).toEqual(before);
    // The remembered teacher came back too: the next round distills it, and the optimizer's
    // moments, which start afresh, bring the tensor count back to where it was.
    const next = await learner.answerRound(transferSetFromContexts(2, [Int32Array.of(7)], Int32Array.of(1, 2)));
    expect(next.logits.every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('refuses to suspend without a state file', async () => {
    const learner = new FedPddLearner(syntheticInteractions(), settings);
    await learner.prepare(itemIds);
    await expect(learner.suspend()).rejects.toThrow('no state file');
  });
});
