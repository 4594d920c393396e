import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'contract', include: ['test/contract/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 } },
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: ['test/e2e/kill-loop.test.ts', 'test/e2e/dashboard-browser.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      // it times restarts: it runs once the other projects are done, alone on the machine
      { test: { name: 'e2e-alone', include: ['test/e2e/kill-loop.test.ts'], testTimeout: 360_000, hookTimeout: 60_000, sequence: { groupOrder: 1 } } },
      // a real browser that must see a point within 1 s: after the others, alone (it may install Chromium first)
      { test: { name: 'e2e-browser', include: ['test/e2e/dashboard-browser.test.ts'], testTimeout: 60_000, hookTimeout: 120_000, sequence: { groupOrder: 2 } } },
    ],
  },
});
