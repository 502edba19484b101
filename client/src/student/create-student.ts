// Builds a student from its config: the one place that maps an architecture name to a class.
import { AttentionPooledStudent } from './attention-pooled-student.js';
import { PooledEmbeddingStudent } from './pooled-embedding-student.js';
import type { Student, StudentArchitecture, StudentConfig } from './student.js';

/** Every architecture that createStudent builds. */
export const STUDENT_ARCHITECTURES = ['pooled-embedding', 'attention-pooled'] as const satisfies readonly StudentArchitecture[];

/** Checks whether `value` names an architecture that createStudent builds. */
export function isStudentArchitecture(value: unknown): value is StudentArchitecture {
  return (STUDENT_ARCHITECTURES as readonly unknown[]).includes(value);
}

/**
 * Creates an untrained student of `config.architecture`. Throws on an unknown architecture, as
 * from a config read from JSON, and on invalid sizes.
 */
export function createStudent(config: StudentConfig): Student {
  switch (config.architecture) {
    case 'pooled-embedding':
      return new PooledEmbeddingStudent(config);
    case 'attention-pooled':
      return new AttentionPooledStudent(config);
    default: {
      // A new member of StudentConfig without a case above fails to compile here.
      const unknown: never = config;
      const architecture = (unknown as { architecture?: unknown }).architecture;
      throw new Error(
        `Unknown student architecture ${JSON.stringify(architecture) ?? 'undefined'}. ` +
          `Set architecture to one of: ${STUDENT_ARCHITECTURES.join(', ')}.`,
      );
    }
  }
}
