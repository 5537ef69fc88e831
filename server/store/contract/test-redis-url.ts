/**
 * The URL of the Redis the tests use, started by the `redis` Vitest project's global setup
 * (scripts/test-redis.ts). A test file that needs Redis belongs to that project (see
 * vitest.config.ts) and calls this in each test: without Redis the test fails with the reason,
 * it is never skipped.
 */
export function testRedisUrl(): string {
  const url = process.env.BATON_TEST_REDIS_URL;
  if (url !== undefined && url !== '') return url;
  const why = process.env.BATON_TEST_REDIS_ERROR;
  throw new Error(
    why !== undefined
      ? `no Redis for the tests: ${why}`
      : 'no Redis for the tests: BATON_TEST_REDIS_URL is not set (is this test file in the ' +
          '`redis` project of vitest.config.ts?)',
  );
}
