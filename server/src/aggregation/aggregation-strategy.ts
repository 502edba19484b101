// The contract of an aggregation rule: client logits on the transfer set in, teacher logits out.
// A strategy holds no transport or round state, so a new rule is one file.

export interface ClientLogits {
  clientId: string;
  /** [probes × candidates] logits, row-major. */
  logits: Float32Array;
  /** Per probe: the client's training interactions with the probe's items. */
  probeEvidence: Float32Array;
  /** Training interactions the client reported at registration. */
  exampleCount: number;
}

export interface LogitShape {
  probes: number;
  candidates: number;
}

export interface AggregationStrategy {
  readonly name: string;
  /** Returns the teacher's [probes × candidates] logits. `inputs` is never empty. */
  aggregate(inputs: readonly ClientLogits[], shape: LogitShape): Float32Array;
}
