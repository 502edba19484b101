// Every algorithm a simulation can run, with the coordinator settings it needs. Federated ones run
// over the real coordinator and clients. References run without a federation.
import type { CoordinatorConfig } from '@distillate/server';

export const FEDERATED_ALGORITHMS = ['fedpdd', 'fedmd', 'dsfl', 'fedavg', 'fedsplit'] as const;
export const REFERENCE_ALGORITHMS = ['local', 'central', 'popularity'] as const;
export const ALGORITHMS = [...FEDERATED_ALGORITHMS, ...REFERENCE_ALGORITHMS] as const;

export type FederatedAlgorithm = (typeof FEDERATED_ALGORITHMS)[number];
export type ReferenceAlgorithm = (typeof REFERENCE_ALGORITHMS)[number];
export type Algorithm = (typeof ALGORITHMS)[number];

export interface AlgorithmPreset {
  description: string;
  /** Coordinator settings that define the algorithm; a run's own settings cannot change them. */
  coordinator: Partial<CoordinatorConfig>;
  /** Coordinator settings the algorithm starts from; a run may change them. */
  coordinatorDefaults: Partial<CoordinatorConfig>;
}

export const FEDERATED_PRESETS: Record<FederatedAlgorithm, AlgorithmPreset> = {
  fedpdd: {
    description: 'double distillation: teacher logits and the client\'s own best past student (Wan et al., 2023)',
    coordinator: { exchange: 'logits' },
    coordinatorDefaults: { aggregation: 'evidence-weighted' },
  },
  fedmd: {
    description: 'consensus distillation: the mean of the clients\' logits is the teacher (Li and Wang, 2019)',
    coordinator: { exchange: 'logits' },
    coordinatorDefaults: { aggregation: 'mean-logits' },
  },
  dsfl: {
    description: 'distillation-based semi-supervised FL: entropy-reduction aggregation (Itahara et al., 2021)',
    coordinator: { exchange: 'logits' },
    coordinatorDefaults: { aggregation: 'entropy-reduction' },
  },
  fedavg: {
    description: 'the student\'s parameters averaged by example count (McMahan et al., 2017)',
    coordinator: { exchange: 'parameters' },
    coordinatorDefaults: {},
  },
  fedsplit: {
    description: 'one-shot: local NMF item patterns, joint factorization on the coordinator, distilled into students (Eren et al., 2022)',
    coordinator: { exchange: 'item-patterns', rounds: 1 },
    coordinatorDefaults: {},
  },
};

export const REFERENCE_DESCRIPTIONS: Record<ReferenceAlgorithm, string> = {
  local: "each client's student trained on its own users only",
  central: 'one student trained on all users pooled (upper reference)',
  popularity: 'items ranked by their training count over all clients; ignores the context',
};

export function isFederated(algorithm: Algorithm): algorithm is FederatedAlgorithm {
  return (FEDERATED_ALGORITHMS as readonly string[]).includes(algorithm);
}
