import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { forkTypeScript } from '../src/index.js';

const LATE_LISTENER = fileURLToPath(new URL('./fixtures/late-parent-listener.ts', import.meta.url));

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
