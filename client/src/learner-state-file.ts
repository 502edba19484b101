// A suspended learner's state on disk: its models' weights and whatever else it holds, written
// with V8's structured serialization, which keeps typed arrays and maps as they are. A process
// that hosts many simulated clients suspends the idle ones, so memory follows the number of
// clients training at once, not the number of clients.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';

/** Writes the state atomically: a crash leaves the previous state, never half of a new one. */
export async function writeLearnerState(file: string, state: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, serialize(state));
  await rename(`${file}.tmp`, file);
}

export async function readLearnerState<T>(file: string): Promise<T> {
  try {
    return deserialize(await readFile(file)) as T;
  } catch (error) {
    throw new Error(
      `Cannot read the suspended learner state in ${file}: ${(error as Error).message}. ` +
        'The file was removed or written by another version; start the simulation again.',
    );
  }
}
