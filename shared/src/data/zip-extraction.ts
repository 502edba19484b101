// Extraction of selected files from a zip archive with yauzl, which reads the archive's central
// directory and streams each entry, so memory does not grow with the archive's size.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import yauzl from 'yauzl';

/**
 * Writes each archive entry named in `destinations` (entry path such as `ml-100k/u.data`, to
 * destination file) and skips every other entry. Returns the entry paths it found and wrote, so
 * the caller can name those that are missing. Throws when the file is not a readable zip archive.
 */
export async function extractZipEntries(
  archive: string,
  destinations: ReadonlyMap<string, string>,
): Promise<Set<string>> {
  const extracted = new Set<string>();
  try {
    const zipFile = await yauzl.openPromise(archive, { lazyEntries: true, autoClose: true });
    for await (const entry of zipFile.eachEntry()) {
      const destination = destinations.get(entry.fileName);
      if (destination === undefined) continue;

      const contents = await zipFile.openReadStreamPromise(entry);
      await pipeline(contents, createWriteStream(destination));
      extracted.add(entry.fileName);
    }
  } catch (error) {
    // yauzl reports a malformed archive with a plain Error. File system errors, such as a full
    // disk, carry an errno code instead, and do not mean that the archive is invalid.
    const reason = error instanceof Error ? error.message : String(error);
    const systemError = (error as NodeJS.ErrnoException).code !== undefined;
    const message = systemError ? `Extraction of ${archive} failed: ${reason}.` : `Invalid zip archive ${archive}: ${reason}.`;
    throw new Error(message, { cause: error });
  }
  return extracted;
}
