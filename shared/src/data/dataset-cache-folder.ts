// The folder that receives downloaded datasets, one sub-folder per dataset id.
import { homedir } from 'node:os';
import path from 'node:path';

/** Environment variable that sets the cache folder, ahead of XDG_CACHE_HOME. */
export const CACHE_FOLDER_VARIABLE = 'DISTILLATE_CACHE';

/**
 * Returns the absolute cache folder: `override` when given, else $DISTILLATE_CACHE, else
 * $XDG_CACHE_HOME/distillate, else ~/.cache/distillate. Relative values of `override` and
 * $DISTILLATE_CACHE are resolved against the working folder. A relative XDG_CACHE_HOME is
 * ignored, because the XDG Base Directory Specification (version 0.7) calls such a value invalid.
 */
export function resolveCacheFolder(
  override?: string,
  environment: NodeJS.ProcessEnv = process.env,
  homeFolder: string = homedir(),
): string {
  if (override !== undefined && override !== '') return path.resolve(override);

  const distillateCache = environment[CACHE_FOLDER_VARIABLE];
  if (distillateCache !== undefined && distillateCache !== '') return path.resolve(distillateCache);

  const xdgCacheHome = environment.XDG_CACHE_HOME;
  if (xdgCacheHome !== undefined && path.isAbsolute(xdgCacheHome)) {
    return path.join(xdgCacheHome, 'distillate');
  }

  return path.join(homeFolder, '.cache', 'distillate');
}

/** Returns the folder of a downloaded dataset: `<cacheFolder>/<id>`. */
export function cachedDatasetFolder(cacheFolder: string, datasetId: string): string {
  return path.join(cacheFolder, datasetId);
}
