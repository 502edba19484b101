// Exact non-negative least squares by the active-set method of Lawson and Hanson (1974), in the
// form that works on the normal equations (Bro and de Jong, 1997). Minimizing ||x − w G||² over
// w ≥ 0 equals minimizing ½ wᵀ Q w − bᵀ w with Q = G Gᵀ and b = G xᵀ, so one Q serves every x.

/** Relative ridge added to the diagonal of each subsystem, so that dependent patterns still solve. */
const RIDGE = 1e-10;

/** Relative size below which a dual entry counts as zero, which ends the search. */
const DUAL_TOLERANCE = 1e-10;

/**
 * Writes into `out` the w ≥ 0 that minimizes ½ wᵀ Q w − bᵀ w for a symmetric positive
 * semi-definite `gram` Q (size × size, row-major) and `rhs` b. Returns the number of
 * patterns moved into the passive set, which is at most 3 × size.
 */
export function solveNonNegativeLeastSquares(
  gram: Float64Array,
  rhs: Float64Array,
  size: number,
  out: Float64Array,
): number {
  out.fill(0);

  let maxRhs = 0;
  let maxDiagonal = 0;
  for (let a = 0; a < size; a++) {
    maxRhs = Math.max(maxRhs, Math.abs(rhs[a]));
    maxDiagonal = Math.max(maxDiagonal, gram[a * size + a]);
  }
  if (maxRhs === 0 || maxDiagonal === 0) return 0;

  const passive = new Uint8Array(size);
  const dual = new Float64Array(size);
  const candidate = new Float64Array(size);
  const ridge = RIDGE * maxDiagonal;
  const dualTolerance = DUAL_TOLERANCE * maxRhs;

  // NOTE: the cap stops a rare cycle caused by rounding. When it is reached, `out` is feasible
  // but may not be the exact minimum.
  const maxSteps = 3 * size;
  let steps = 0;
  while (steps < maxSteps) {
    // The dual b − Q w is the negative gradient. A positive entry outside the passive set means
    // that raising that weight from 0 lowers the loss.
    computeDual(gram, rhs, out, size, dual);
    let entering = -1;
    for (let a = 0; a < size; a++) {
      if (passive[a] === 0 && dual[a] > dualTolerance && (entering < 0 || dual[a] > dual[entering])) entering = a;
    }
    if (entering < 0) break;
    passive[entering] = 1;
    steps++;

    // Solve on the passive set. While the solution has entries at or below 0, step from w
    // towards it as far as feasibility allows and drop the weights that reach 0.
    for (;;) {
      solvePassiveSystem(gram, rhs, passive, size, ridge, candidate);

      let stepLength = 1;
      let blocking = -1;
      for (let a = 0; a < size; a++) {
        if (passive[a] === 0 || candidate[a] > 0) continue;
        const gap = out[a] - candidate[a];
        const ratio = gap > 0 ? out[a] / gap : 0;
        if (blocking < 0 || ratio < stepLength) {
          stepLength = ratio;
          blocking = a;
        }
      }

      if (blocking < 0) {
        out.set(candidate);
        break;
      }

      // The blocking weight is set to exactly 0, so rounding cannot keep it in the passive set.
      for (let a = 0; a < size; a++) {
        if (passive[a] === 0) continue;
        out[a] += stepLength * (candidate[a] - out[a]);
        if (a === blocking || out[a] <= 0) {
          out[a] = 0;
          passive[a] = 0;
        }
      }
      if (!passive.includes(1)) break;
    }
  }
  return steps;
}

function computeDual(gram: Float64Array, rhs: Float64Array, w: Float64Array, size: number, dual: Float64Array): void {
  for (let a = 0; a < size; a++) {
    let total = rhs[a];
    for (let b = 0; b < size; b++) total -= gram[a * size + b] * w[b];
    dual[a] = total;
  }
}

/**
 * Solves Q_PP s_P = b_P by Cholesky factorization, with a small ridge on the diagonal, and
 * writes s with zeros outside the passive set P.
 */
function solvePassiveSystem(
  gram: Float64Array,
  rhs: Float64Array,
  passive: Uint8Array,
  size: number,
  ridge: number,
  solution: Float64Array,
): void {
  const indices: number[] = [];
  for (let a = 0; a < size; a++) if (passive[a] === 1) indices.push(a);
  const n = indices.length;

  // Lower-triangular factor L with L Lᵀ = Q_PP + ridge · I.
  const lower = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let total = gram[indices[i] * size + indices[j]] + (i === j ? ridge : 0);
      for (let m = 0; m < j; m++) total -= lower[i * n + m] * lower[j * n + m];
      lower[i * n + j] = i === j ? Math.sqrt(Math.max(total, ridge)) : total / lower[j * n + j];
    }
  }

  // Forward substitution L y = b_P, then back substitution Lᵀ s_P = y.
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let total = rhs[indices[i]];
    for (let m = 0; m < i; m++) total -= lower[i * n + m] * y[m];
    y[i] = total / lower[i * n + i];
  }
  solution.fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let total = y[i];
    for (let m = i + 1; m < n; m++) total -= lower[m * n + i] * solution[indices[m]];
    solution[indices[i]] = total / lower[i * n + i];
  }
}
