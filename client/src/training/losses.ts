// Loss terms of a client's objective, written with TensorFlow.js ops so they are differentiable.
import * as tf from '@tensorflow/tfjs';

/**
 * Multinomial negative log-likelihood: for each row, minus the target-weighted sum of the log
 * softmax over items, averaged over rows. Each row of `targets` sums to 1.
 */
export function multinomialLoss(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

/**
 * Knowledge-distillation loss τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ)), averaged over
 * rows. The τ² factor keeps gradient magnitudes comparable across temperatures (Hinton et al.,
 * 2015, "Distilling the Knowledge in a Neural Network").
 */
export function distillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const teacherLogProbabilities = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const studentLogProbabilities = tf.logSoftmax(tf.div(studentLogits, temperature));
    const perRow = tf.sum(
      tf.mul(tf.exp(teacherLogProbabilities), tf.sub(teacherLogProbabilities, studentLogProbabilities)),
      1,
    );
    return tf.mul(tf.mean(perRow), temperature * temperature) as tf.Scalar;
  });
}
