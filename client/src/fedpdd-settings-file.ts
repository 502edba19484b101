// Reads FedPDD settings from a JSON file. Every field is optional and falls back to its default.
// The nested `student` and `training` objects are merged field by field, so a file may set one
// student field and keep the others. Unknown fields, wrong types and out-of-range values are
// rejected with the field's path, so that a typo does not silently run the defaults.
import { describeSchemaError, readJsonFile } from '@distillate/shared';
import { z } from 'zod';

import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings, UPLOAD_MODELS } from './fedpdd-learner.js';

const integerAtLeast = (minimum: number) => z.number().int().min(minimum);

const studentOverridesSchema = z
  .strictObject({
    architecture: z.literal('pooled-embedding'),
    embeddingDim: integerAtLeast(1),
    hiddenDim: integerAtLeast(0),
    maxContextLength: integerAtLeast(1),
    recencyHalfLife: z.number().min(0),
  })
  .partial();

const trainingOverridesSchema = z
  .strictObject({
    learningRate: z.number().positive(),
    batchSize: integerAtLeast(1),
    maxProbeBatchSize: integerAtLeast(1),
    keepProbability: z.number().gt(0).max(1),
    targets: z.enum(['all', 'dropped']),
    singleItemShare: z.number().min(0).max(1),
  })
  .partial();

const settingsOverridesSchema = z
  .strictObject({
    student: studentOverridesSchema,
    training: trainingOverridesSchema,
    warmupEpochs: integerAtLeast(0),
    localEpochs: integerAtLeast(0),
    finalEpochs: integerAtLeast(0),
    teacherWeight: z.number().min(0),
    selfWeight: z.number().min(0),
    temperature: z.number().positive(),
    teacherMemoryRounds: integerAtLeast(1),
    uploadModel: z.enum(UPLOAD_MODELS),
    seed: z.number().int(),
  })
  .partial();

/** Validates parsed JSON and merges it over the defaults. `source` names the file in errors. */
export function fedPddSettingsFromJson(value: unknown, source: string): FedPddSettings {
  const parsed = settingsOverridesSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `Invalid FedPDD settings in ${source}: ${describeSchemaError(parsed.error, 'settings')}. ` +
        'Correct or remove these fields: every field is optional and falls back to its default.',
    );
  }

  const overrides = parsed.data;
  return {
    ...DEFAULT_FEDPDD_SETTINGS,
    ...overrides,
    student: { ...DEFAULT_FEDPDD_SETTINGS.student, ...overrides.student },
    training: { ...DEFAULT_FEDPDD_SETTINGS.training, ...overrides.training },
  };
}

/** Reads and validates a settings file. Errors name the file and what to fix. */
export async function readFedPddSettingsFile(file: string): Promise<FedPddSettings> {
  return fedPddSettingsFromJson(await readJsonFile(file, 'settings file', '--settings'), file);
}
