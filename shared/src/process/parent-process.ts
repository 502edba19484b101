// Ties a child process, such as a coordinator or client started by the main job, to its parent.
// The child reports to the parent while the IPC channel is open. It ends itself when the channel
// closes, which happens when the parent exits, even by SIGKILL.

/**
 * Sends a message to the parent process if the IPC channel is still open, and drops it
 * otherwise. Resolves once the message has left this process: await it before disconnecting,
 * or a large message still being written is lost.
 */
export function sendToParent(message: object): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

/**
 * Runs `onParentExit` and ends this process when the parent's IPC channel closes. Returns a
 * function that cancels this, for a process that finished its work and disconnects itself.
 */
export function stopWithParent(onParentExit: () => void): () => void {
  const stop = (): void => {
    onParentExit();
    // NOTE: process.exit() hung for good in orphaned coordinators and clients started through the
    // tsx loader, and the cause is not known. SIGTERM ends the process without running exit
    // handlers, and an orphan has no one to report to anyway.
    process.kill(process.pid, 'SIGTERM');
  };
  // A parent that died while this process was starting closed the channel before anyone listened.
  if (process.send !== undefined && !process.connected) {
    stop();
    return () => {};
  }
  process.once('disconnect', stop);
  return () => process.off('disconnect', stop);
}
