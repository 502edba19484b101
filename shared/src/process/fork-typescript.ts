// Starts a TypeScript entry point in a child process with an IPC channel, through tsx's loader,
// so that the coordinator, clients and workers run as separate processes sharing no memory.
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

export function forkTypeScript(entryPoint: string, args: readonly string[], options: ForkOptions = {}): ChildProcess {
  const loader = pathToFileURL(require.resolve('tsx')).href;
  return fork(entryPoint, args, { ...options, execArgv: ['--import', loader] });
}
