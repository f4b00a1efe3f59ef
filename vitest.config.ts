import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests run in parallel; integration tests use real parts (pcscd + vpcd, Chromium under
// Xvfb, child processes) that exist once per machine, so their files run one at a time around one shared pcscd.
export default defineConfig({
  test: {
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['*/test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          globalSetup: ['./scripts/vitest-pcscd-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
