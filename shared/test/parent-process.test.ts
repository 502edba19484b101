import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { forkTypeScript } from '../src/index.js';

const LATE_LISTENER = fileURLToPath(new URL('./fixtures/late-parent-listener.ts', import.meta.url));
const LARGE_MESSAGE_SENDER = fileURLToPath(new URL('./fixtures/large-message-sender.ts', import.meta.url));

describe('sendToParent', () => {
  it('delivers a large message sent just before disconnecting', async () => {
    const child = forkTypeScript(LARGE_MESSAGE_SENDER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const sizes: number[] = [];
    child.on('message', (message: { payload: string }) => sizes.push(message.payload.length));
    await once(child, 'exit');
    expect(sizes).toEqual([30_000_000]);
  });
});

describe('stopWithParent', () => {
  it('stops a child whose parent left before it started listening', async () => {
    const child = forkTypeScript(LATE_LISTENER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // Closing the channel right away is what a parent's exit does.
    child.disconnect();
    const [code, signal] = await once(child, 'exit');
    expect(code).toBeNull();
    expect(signal).toBe('SIGTERM');
  });
});
