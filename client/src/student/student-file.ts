// Saving and loading a student: student.json (configuration and tensor layout) beside
// weights.bin (the float32 weights, little-endian, in the order student.json lists them).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { bytesOf, float32ArrayFrom } from '@distillate/shared';

import { STUDENT_ARCHITECTURES, createStudent, isStudentArchitecture } from './create-student.js';
import type { Student, StudentConfig } from './student.js';

const FORMAT_VERSION = 1;

interface StudentManifest {
  formatVersion: number;
  config: StudentConfig;
  tensors: Array<{ name: string; length: number }>;
}

/** Writes the student into `directory`, replacing any student saved there. */
export async function saveStudent(student: Student, directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const weights = student.getWeights();
  const manifest: StudentManifest = {
    formatVersion: FORMAT_VERSION,
    config: student.config,
    tensors: [...weights].map(([name, values]) => ({ name, length: values.length })),
  };

  const all = new Float32Array(manifest.tensors.reduce((total, tensor) => total + tensor.length, 0));
  let offset = 0;
  for (const values of weights.values()) {
    all.set(values, offset);
    offset += values.length;
  }

  // Write to temporary names, then rename, so a crash never leaves a half-written student.
  const weightsFile = path.join(directory, 'weights.bin');
  const manifestFile = path.join(directory, 'student.json');
  await writeFile(`${weightsFile}.tmp`, bytesOf(all));
  await writeFile(`${manifestFile}.tmp`, JSON.stringify(manifest, null, 2));
  await rename(`${weightsFile}.tmp`, weightsFile);
  await rename(`${manifestFile}.tmp`, manifestFile);
}

/** Reads a student saved by saveStudent. */
export async function loadStudent(directory: string): Promise<Student> {
  const manifestFile = path.join(directory, 'student.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as StudentManifest;
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw new Error(`${manifestFile} has format version ${manifest.formatVersion}; this version of Distillate reads ${FORMAT_VERSION}.`);
  }
  const architecture: unknown = manifest.config?.architecture;
  if (!isStudentArchitecture(architecture)) {
    throw new Error(
      `${manifestFile} contains a student of unknown architecture ${JSON.stringify(architecture) ?? 'undefined'}. ` +
        `This version loads these architectures: ${STUDENT_ARCHITECTURES.join(', ')}.`,
    );
  }

  const values = float32ArrayFrom(await readFile(path.join(directory, 'weights.bin')), 'weights.bin');
  const expected = manifest.tensors.reduce((total, tensor) => total + tensor.length, 0);
  if (values.length !== expected) {
    throw new Error(`${directory}/weights.bin holds ${values.length} values but student.json lists ${expected}. The files do not belong together.`);
  }

  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const tensor of manifest.tensors) {
    weights.set(tensor.name, values.subarray(offset, offset + tensor.length));
    offset += tensor.length;
  }
  const student = createStudent(manifest.config);
  try {
    student.setWeights(weights);
  } catch (error) {
    student.dispose();
    throw error;
  }
  return student;
}
