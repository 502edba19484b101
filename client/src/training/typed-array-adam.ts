// Adam on float32 parameter arrays, step for step the update of tf.train.adam in TensorFlow.js
// 4.22: the same defaults, the bias correction by β^t, and ε added to √v̂.

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * The defaults of tf.train.adam in TensorFlow.js 4.22. ε is the float32 epsilon of the backend
 * (KernelBackend.epsilon()), which tf.train.adam uses when no ε is given.
 */
export const TFJS_ADAM_DEFAULTS: Omit<AdamSettings, 'learningRate'> = {
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
};

/**
 * Adam state for a fixed list of parameter arrays. Every step updates every value of every
 * parameter, also where the gradient is zero, because the moments decay there too and the
 * value still moves by the decayed first moment. That is what tfjs does with the dense gradient
 * of an embedding table.
 */
export class TypedArrayAdam {
  private readonly firstMoments: Float32Array[];
  private readonly secondMoments: Float32Array[];
  // Like tfjs, β1^t and β2^t are float32 scalars that start at β1 and β2.
  private beta1Power: number;
  private beta2Power: number;

  constructor(
    parameterLengths: readonly number[],
    private readonly settings: AdamSettings,
  ) {
    const { learningRate, beta1, beta2, epsilon } = settings;
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new Error(`Adam learning rate must be a positive number, got ${learningRate}.`);
    }
    for (const [name, beta] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`Adam ${name} must be in [0, 1), got ${beta}.`);
    }
    if (!(epsilon >= 0)) throw new Error(`Adam epsilon must be non-negative, got ${epsilon}.`);

    this.firstMoments = parameterLengths.map((length) => new Float32Array(length));
    this.secondMoments = parameterLengths.map((length) => new Float32Array(length));
    this.beta1Power = Math.fround(beta1);
    this.beta2Power = Math.fround(beta2);
  }

  /**
   * Applies one step: parameters[p][i] −= lr · m̂ / (√v̂ + ε). The arrays must come in the order
   * and with the lengths given to the constructor.
   */
  step(parameters: readonly Float32Array[], gradients: readonly Float64Array[]): void {
    if (parameters.length !== this.firstMoments.length || gradients.length !== this.firstMoments.length) {
      throw new Error(
        `Adam step got ${parameters.length} parameters and ${gradients.length} gradients, expected ` +
          `${this.firstMoments.length} of each. Pass the parameters the optimizer was created for.`,
      );
    }

    const { learningRate, beta1, beta2, epsilon } = this.settings;
    const firstCorrection = Math.fround(1 - this.beta1Power);
    const secondCorrection = Math.fround(1 - this.beta2Power);
    // lr · (m / c1) / (√(v / c2) + ε), with the per-step constants taken out of the loop.
    const stepSize = learningRate / firstCorrection;
    const inverseRootCorrection = 1 / Math.sqrt(secondCorrection);

    for (let p = 0; p < parameters.length; p++) {
      const values = parameters[p];
      const gradient = gradients[p];
      const first = this.firstMoments[p];
      const second = this.secondMoments[p];
      if (values.length !== first.length || gradient.length !== first.length) {
        throw new Error(
          `Adam parameter ${p} has ${values.length} values and ${gradient.length} gradient values, ` +
            `expected ${first.length}. Pass the parameters the optimizer was created for.`,
        );
      }

      for (let i = 0; i < values.length; i++) {
        const g = gradient[i];
        const m = beta1 * first[i] + (1 - beta1) * g;
        const v = beta2 * second[i] + (1 - beta2) * g * g;
        first[i] = m;
        second[i] = v;
        values[i] -= (stepSize * m) / (Math.sqrt(v) * inverseRootCorrection + epsilon);
      }
    }

    this.beta1Power = Math.fround(this.beta1Power * beta1);
    this.beta2Power = Math.fround(this.beta2Power * beta2);
  }
}
