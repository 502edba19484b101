// Settings that keep a federation in tests to a few seconds: a small student, few epochs and a
// small transfer set.
import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings } from '@distillate/client';
import type { CoordinatorConfig } from '@distillate/server';

export const SMALL_FEDPDD_SETTINGS: FedPddSettings = {
  ...DEFAULT_FEDPDD_SETTINGS,
  student: { ...DEFAULT_FEDPDD_SETTINGS.student, embeddingDim: 16 },
  warmupEpochs: 2,
  localEpochs: 1,
  finalEpochs: 1,
};

export const SMALL_COORDINATOR_SETTINGS: Partial<CoordinatorConfig> = {
  probesPerRound: 16,
  candidatesPerRound: 64,
  aggregation: 'evidence-weighted',
};
