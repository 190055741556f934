import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Device tests talk to a real serial line when AT_PKI_TEST_PORT is set; give them room.
    testTimeout: process.env.AT_PKI_TEST_PORT ? 120_000 : 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
