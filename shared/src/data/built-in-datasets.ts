// Datasets shipped inside the project, under shared/datasets/, each with its licence beside it.
import { fileURLToPath } from 'node:url';

export const BUILT_IN_DATASETS = {
  /**
   * MovieLens latest-small (GroupLens, 2018): 100,836 ratings of 9,742 movies by 610 users.
   * Redistributed under its licence, in shared/datasets/ml-latest-small/README.txt.
   */
  'ml-latest-small': fileURLToPath(new URL('../../datasets/ml-latest-small', import.meta.url)),
} as const;

export type BuiltInDataset = keyof typeof BUILT_IN_DATASETS;
