// Creation of a run's folder under the folder the user gave with --output, with errors that name
// the problem with that path.
import { mkdir } from 'node:fs/promises';

/** Creates `folder` and its parents. `outputDirectory` is the --output value, named in errors. */
export async function createOutputFolder(folder: string, outputDirectory: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new Error(`--output "${outputDirectory}" is invalid: part of that path is a file, not a folder. Give a folder path, such as --output runs.`);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new Error(`Cannot create a run folder in --output "${outputDirectory}" (${code}). Give a folder you can write to.`);
    }
    throw error;
  }
}
