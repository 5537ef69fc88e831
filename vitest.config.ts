import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that need a Redis: the `redis` project, whose global setup (scripts/test-redis.ts) starts
 * one `redis-server` per run, and only when one of these files runs. Name a test file
 * `*.redis.test.ts` (or put it under server/store/redis/) to have a Redis.
 */
const needRedis = [
  'server/store/redis/**/*.test.ts',
  'server/store/redis-store.contract.test.ts',
  'server/**/*.redis.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'shared/**/*.test.ts',
            'server/**/*.test.ts',
            'client/**/*.test.{ts,tsx}',
            'scripts/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, ...needRedis],
        },
      },
      {
        extends: true,
        test: {
          name: 'redis',
          include: needRedis,
          globalSetup: ['scripts/test-redis.ts'],
        },
      },
    ],
  },
});
