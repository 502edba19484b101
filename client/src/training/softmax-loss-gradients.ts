// The loss terms of losses.ts on one row of logits, with their gradients with respect to those
// logits, written on typed arrays for the typed-array trainer.

/**
 * Writes scale · ∂/∂z of the multinomial loss of one row into `gradient`, and returns the row's
 * loss −Σ_j y_j log softmax(z)_j. The target distribution y is the one targetDistributions()
 * builds: each distinct target item gets 1 / targets.length, so a repeated target counts once.
 * z is logits[offset, offset + count), and the gradient goes to the same positions.
 */
export function writeMultinomialGradient(
  logits: Float64Array,
  offset: number,
  count: number,
  targets: ArrayLike<number>,
  scale: number,
  gradient: Float64Array,
): number {
  const distinctTargets = new Set<number>();
  for (let k = 0; k < targets.length; k++) {
    const item = targets[k];
    if (!Number.isInteger(item) || item < 0 || item >= count) {
      throw new Error(
        `Multinomial loss: target item ${item} is outside the ${count} scored items. ` +
          'Use item indices of the student catalog.',
      );
    }
    distinctTargets.add(item);
  }

  // Keep exp(z_j − max) in the gradient row, so each exponential is computed once.
  let maximum = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < count; j++) maximum = Math.max(maximum, logits[offset + j]);
  let sum = 0;
  for (let j = 0; j < count; j++) {
    const shifted = Math.exp(logits[offset + j] - maximum);
    gradient[offset + j] = shifted;
    sum += shifted;
  }
  const logNormalizer = maximum + Math.log(sum);

  // ∂/∂z_j of −Σ y log softmax(z) is softmax(z)_j · Σ y − y_j.
  const mass = 1 / Math.max(targets.length, 1);
  const probabilityScale = (scale * mass * distinctTargets.size) / sum;
  for (let j = 0; j < count; j++) gradient[offset + j] *= probabilityScale;

  let loss = 0;
  for (const item of distinctTargets) {
    gradient[offset + item] -= scale * mass;
    loss -= mass * (logits[offset + item] - logNormalizer);
  }
  return loss;
}

/**
 * Adds scale · ∂/∂s of KL(softmax(t/τ) ‖ softmax(s/τ)) for one row to `gradient`, and returns the
 * KL divergence. s is studentLogits[studentOffset, studentOffset + count) and t is
 * teacherLogits[teacherOffset, teacherOffset + count). The caller multiplies the returned value
 * by τ² and the term's weight, as distillationLoss() does, and folds the same factors into scale.
 */
export function addDistillationGradient(
  studentLogits: Float64Array,
  studentOffset: number,
  teacherLogits: Float32Array,
  teacherOffset: number,
  count: number,
  temperature: number,
  scale: number,
  gradient: Float64Array,
): number {
  const inverseTemperature = 1 / temperature;
  const studentNormalizer = logSumExp(studentLogits, studentOffset, count, inverseTemperature);
  const teacherNormalizer = logSumExp(teacherLogits, teacherOffset, count, inverseTemperature);

  // ∂/∂s_j of KL(p_t ‖ p_s) with p_s = softmax(s/τ) is (p_s,j − p_t,j) / τ.
  let divergence = 0;
  for (let j = 0; j < count; j++) {
    const studentLogProbability = studentLogits[studentOffset + j] * inverseTemperature - studentNormalizer;
    const teacherLogProbability = teacherLogits[teacherOffset + j] * inverseTemperature - teacherNormalizer;
    const teacherProbability = Math.exp(teacherLogProbability);
    divergence += teacherProbability * (teacherLogProbability - studentLogProbability);
    gradient[studentOffset + j] += scale * inverseTemperature * (Math.exp(studentLogProbability) - teacherProbability);
  }
  return divergence;
}

/** log Σ_j exp(factor · values[offset + j]) for j < count, shifted by the maximum for stability. */
function logSumExp(values: Float64Array | Float32Array, offset: number, count: number, factor: number): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < count; j++) maximum = Math.max(maximum, factor * values[offset + j]);

  let sum = 0;
  for (let j = 0; j < count; j++) sum += Math.exp(factor * values[offset + j] - maximum);
  return maximum + Math.log(sum);
}
