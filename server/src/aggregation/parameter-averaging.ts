// FedAvg's aggregation (McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks
// from Decentralized Data"): the global weights are the clients' weights averaged, each weighted
// by its number of training examples. All clients must run the same student architecture.

export interface ClientParameters {
  clientId: string;
  /** The student's weights flattened in one agreed order. */
  values: Float32Array;
  /** Training interactions the client reported at registration. */
  exampleCount: number;
}

/** Returns the example-weighted mean of the clients' parameter vectors. `inputs` is never empty. */
export function averageParameters(inputs: readonly ClientParameters[]): Float32Array {
  const size = inputs[0].values.length;
  for (const input of inputs) {
    if (input.values.length !== size) {
      throw new Error(
        `Client ${input.clientId} uploaded ${input.values.length} parameters but ${inputs[0].clientId} uploaded ${size}. ` +
          'Parameter averaging needs every client to run the same student architecture and size.',
      );
    }
  }

  // NOTE: exampleCount is self-reported, so a client can claim more data to weigh more. Each
  // weight is capped at four times the median to bound that.
  const counts = inputs.map((input) => Math.max(0, input.exampleCount)).sort((a, b) => a - b);
  const cap = 4 * Math.max(1, counts[Math.floor(counts.length / 2)]);
  const weights = inputs.map((input) => Math.min(cap, Math.max(1, input.exampleCount)));
  const total = weights.reduce((sum, weight) => sum + weight, 0);

  const sum = new Float64Array(size);
  inputs.forEach((input, index) => {
    const weight = weights[index] / total;
    for (let k = 0; k < size; k++) sum[k] += weight * input.values[k];
  });
  return Float32Array.from(sum);
}
