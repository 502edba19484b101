// Reads student logits out of TensorFlow.js.
//
// Scores are read after tf.tidy returns: tidy walks its return value looking for tensors, and
// for a typed array of 600,000 scores that walk costs about 400 ms.
import * as tf from '@tensorflow/tfjs';

import { packContexts } from './context-batch.js';
import type { Student } from './student.js';

/** Logits [contexts × candidates] (or × itemCount without candidates), row-major. */
export function scoreContexts(student: Student, contexts: readonly ArrayLike<number>[], candidates?: Int32Array): Float32Array {
  const candidateTensor = candidates ? tf.tensor1d(candidates, 'int32') : undefined;
  const logits = student.logits(packContexts(contexts, student.config.maxContextLength, student.config.recencyHalfLife), candidateTensor);
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  candidateTensor?.dispose();
  return values;
}

/** Scores in batches, to bound the size of the logits tensor. */
export function scoreContextsInBatches(
  student: Student,
  contexts: readonly ArrayLike<number>[],
  candidates?: Int32Array,
  batchSize = 256,
): Float32Array {
  const width = candidates ? candidates.length : student.config.itemCount;
  const scores = new Float32Array(contexts.length * width);
  for (let start = 0; start < contexts.length; start += batchSize) {
    const batch = contexts.slice(start, start + batchSize);
    scores.set(scoreContexts(student, batch, candidates), start * width);
  }
  return scores;
}
