// Waiting on forked processes: their IPC messages, and their exit when it comes too early.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the first IPC message whose type is one of `types`; rejects if the process exits first. */
export function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  types: string | readonly string[],
  name: string,
  logFile: string,
): Promise<T> {
  const wanted = typeof types === 'string' ? [types] : types;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!wanted.includes((message as { type?: string }).type ?? '')) return;
      cleanUp();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanUp();
      reject(new Error(`The ${name} process exited (code ${code}, signal ${signal}) before sending "${wanted.join('" or "')}". See ${logFile}.`));
    };
    const cleanUp = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Stops a child process that is still running. */
export function stopProcess(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
