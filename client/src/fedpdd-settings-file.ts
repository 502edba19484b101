// Reads FedPDD settings from a JSON file. Every field is optional and falls back to its default.
// The nested `student` and `training` objects are merged field by field, so a file may set one
// student field and keep the others. Unknown fields, wrong types and out-of-range values are
// rejected with the field's path, so that a typo does not silently run the defaults.
//
// A student field is either shared by every architecture or belongs to one architecture (see
// ARCHITECTURE_FIELDS). When a file sets `student.architecture` to another architecture than the
// default, the default shared fields still apply. The new architecture's own fields start from
// their defaults, and no field of the default architecture carries over. A field of an
// architecture other than the one that will run is rejected.
import { describeSchemaError, readJsonFile } from '@distillate/shared';
import { z } from 'zod';

import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings, UPLOAD_MODELS } from './fedpdd-learner.js';
import { DEFAULT_ATTENTION_DIM } from './student/attention-pooled-student.js';
import { STUDENT_ARCHITECTURES } from './student/create-student.js';
import type { StudentArchitecture, StudentSettings } from './student/student.js';

const integerAtLeast = (minimum: number) => z.number().int().min(minimum);

/** Student fields that only one architecture reads. Every other student field is shared. */
const ARCHITECTURE_FIELDS = {
  'pooled-embedding': [],
  'attention-pooled': ['attentionDim'],
} as const satisfies Record<StudentArchitecture, readonly string[]>;

const studentOverridesSchema = z
  .strictObject({
    architecture: z.enum(STUDENT_ARCHITECTURES),
    embeddingDim: integerAtLeast(1),
    hiddenDim: integerAtLeast(0),
    maxContextLength: integerAtLeast(1),
    recencyHalfLife: z.number().min(0),
    attentionDim: integerAtLeast(1),
  })
  .partial()
  .superRefine((student, context) => {
    const architecture = student.architecture ?? DEFAULT_FEDPDD_SETTINGS.student.architecture;
    const source = student.architecture === undefined ? 'the default architecture' : 'the architecture';
    for (const [owner, fields] of Object.entries(ARCHITECTURE_FIELDS)) {
      if (owner === architecture) continue;
      for (const field of fields.filter((name) => name in student)) {
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `applies only to ${owner} students, but ${source} is ${architecture}; set student.architecture to "${owner}" or remove ${field}`,
        });
      }
    }
  });

type StudentOverrides = z.infer<typeof studentOverridesSchema>;

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

/**
 * Validates parsed JSON and merges it over the defaults. `source` names the file in errors, and
 * `field` names the settings' place in it when they are nested in a larger file, such as `learner`.
 */
export function fedPddSettingsFromJson(value: unknown, source: string, field?: string): FedPddSettings {
  const parsed = settingsOverridesSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `Invalid FedPDD settings in ${source}: ${describeSchemaError(parsed.error, field ?? 'settings', field ? `${field}.` : '')}. ` +
        'Correct or remove these fields: every field is optional and falls back to its default.',
    );
  }

  const overrides = parsed.data;
  return {
    ...DEFAULT_FEDPDD_SETTINGS,
    ...overrides,
    student: mergeStudentSettings(DEFAULT_FEDPDD_SETTINGS.student, overrides.student ?? {}),
    training: { ...DEFAULT_FEDPDD_SETTINGS.training, ...overrides.training },
  };
}

/**
 * Merges validated student overrides over the defaults. The result contains the shared fields
 * and the fields of the chosen architecture only.
 */
function mergeStudentSettings(defaults: StudentSettings, overrides: StudentOverrides): StudentSettings {
  const architecture = overrides.architecture ?? defaults.architecture;
  const shared = {
    embeddingDim: overrides.embeddingDim ?? defaults.embeddingDim,
    hiddenDim: overrides.hiddenDim ?? defaults.hiddenDim,
    maxContextLength: overrides.maxContextLength ?? defaults.maxContextLength,
    recencyHalfLife: overrides.recencyHalfLife ?? defaults.recencyHalfLife,
  };

  if (architecture === 'attention-pooled') {
    const defaultAttentionDim = defaults.architecture === 'attention-pooled' ? defaults.attentionDim : undefined;
    return { architecture, ...shared, attentionDim: overrides.attentionDim ?? defaultAttentionDim ?? DEFAULT_ATTENTION_DIM };
  }
  return { architecture, ...shared };
}

/** Reads and validates a settings file. Errors name the file and what to fix. */
export async function readFedPddSettingsFile(file: string): Promise<FedPddSettings> {
  return fedPddSettingsFromJson(await readJsonFile(file, 'settings file', '--settings'), file);
}
