import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shared,client,server,simulations}/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
