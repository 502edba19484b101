// Reads a JSON file that a user passed on the command line, with errors that name the file and
// the option that gave it.
import { readFile } from 'node:fs/promises';

/**
 * Reads and parses `file`. `description` names the file in errors ("settings file") and `option`
 * is the command-line option to correct ("--settings"). The caller validates the value.
 */
export async function readJsonFile(file: string, description: string, option: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Failed to read the ${description} ${file}: ${(error as Error).message}. Check the path given to ${option}.`);
  }

  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`Invalid JSON in the ${description} ${file}: ${(error as Error).message}. The file must contain one JSON object.`);
  }
}
