// Matrix product whose gradient avoids transposed matMul calls.
//
// On the tfjs 4.22 WebAssembly backend, matMul with transposeA or transposeB set runs about 15
// times slower than an explicit tf.transpose followed by a plain matMul (30 ms against 2 ms for
// [64 × 64] · [64 × 9,724] on one core; see the benchmark page). tf.matMul's own gradient uses
// the transpose flags, so this op supplies a gradient that transposes explicitly.
import * as tf from '@tensorflow/tfjs';

const matMulWithPlainGradient = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as tf.Tensor2D[];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(savedB)),
        tf.matMul(tf.transpose(savedA), dy as tf.Tensor2D),
      ];
    },
  };
});

/** a [m × k] · b [k × n] → [m × n], differentiable, with no transposed matMul in either pass. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulWithPlainGradient(a, b) as tf.Tensor2D;
}
