/**
 * Baton's entry point: the only module that reads the environment. It parses the configuration,
 * builds the app on the in-memory store (or on Redis, with `--redis`) and starts listening.
 * Nothing imports this file.
 */
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createApp } from './app';
import { releaseMemoryWhenQuiet } from './flow/idle-memory';
import { systemTimers } from './flow/types';
import { ConfigError, helpText, readConfig } from './config';
import { hostName } from './http/browser-guard';
import { Redis } from 'ioredis';
import { redactUrl } from './store/redis/connection';
import { openRedisDeployment, type RedisParts } from './store/redis/deployment';

async function main(): Promise<void> {
  let config;
  try {
    config = readConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  const log = pino({ level: config.logLevel });
  if (config.signingKeys === null) {
    log.warn(
      'no signing keys set (QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY, or ' +
        '--current-signing-key and --next-signing-key): deliveries are signed with the public ' +
        'development keys, which anyone can use to forge a delivery',
    );
  }
  // The name Baton is started on is one it answers to; bound to every interface, so is the machine's.
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const ownName = wildcard ? os.hostname() : config.host;
  const allowedHosts = [...config.allowedHosts];
  if (isIP(ownName) === 0 && hostName(ownName) !== undefined) allowedHosts.push(ownName);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  let redis: RedisParts | undefined;
  if (config.redisUrl !== null) {
    try {
      await reachable(config.redisUrl);
      redis = await openRedisDeployment({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        leaseMs: config.redisLeaseMs,
        renewEveryMs: Math.max(100, Math.floor(config.redisLeaseMs / 3)),
        policy: config.policy,
        ...(config.globalParallelism !== null
          ? { globalParallelism: config.globalParallelism }
          : {}),
        retention: config.retention,
        onDeadLetterDropped: (m, why) =>
          log.warn(
            { ...m, why },
            why === 'bytes'
              ? 'dead letter dropped: the dead-letter list is over --dlq-bytes'
              : 'dead letter dropped: older than --dlq-max-age',
          ),
        warn: (msg, err) => log.warn({ err }, msg),
      });
    } catch (err) {
      log.fatal({ err }, `cannot use Redis at ${redactUrl(config.redisUrl)}`);
      process.exit(1);
    }
    log.info(
      { prefix: config.redisPrefix },
      `flow control, messages, schedules, URL groups, queues and Workflow runs in Redis at ${redactUrl(config.redisUrl)}, shared by every Baton server on it`,
    );
  }
  const app = createApp({
    log,
    ...redis,
    token: config.token,
    signingKeys: config.signingKeys ?? undefined,
    allowedOrigins: config.allowedOrigins,
    allowedHosts,
    maxBodyBytes: config.maxBodyBytes,
    globalParallelism: config.globalParallelism,
    policy: config.policy,
    requestTimeoutMs: config.requestTimeoutMs,
    keyTtlMs: config.keyTtlMs,
    retention: config.retention,
    staticDir: path.join(root, 'dist', 'client'),
  });
  // After a burst has drained, the heap it grew is given back (see idle-memory.ts).
  releaseMemoryWhenQuiet(app.controller, systemTimers);
  app.http.listen(config.port, config.host, () => {
    const address = app.http.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    log.info({ host: config.host, port }, `Baton listening on http://${config.host}:${port}`);
  });
  let stoppingSince: number | null = null;
  const stop = (signal: string) => {
    if (stoppingSince !== null) {
      // One stop can arrive twice (a terminal's Ctrl-C reaches the process group, and tsx relays
      // it too); a signal a second later is the operator insisting.
      if (Date.now() - stoppingSince < 1000) return;
      log.warn(`${signal} again: exiting now, abandoning what is in flight`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info(
      `${signal}: stopping. New requests get 503; deliveries in flight may finish within ${config.shutdownTimeoutMs} ms`,
    );
    void app.shutdown(config.shutdownTimeoutMs).then(async (r) => {
      const left = r.waiting + r.scheduled + r.abandoned;
      const summary =
        `stopped after ${r.waitedMs} ms: ${r.finished} deliveries in flight finished; left behind ` +
        `${r.waiting} waiting, ${r.scheduled} delayed or awaiting a retry, ${r.abandoned} still in flight`;
      if (left === 0) log.info(r, `${summary}. Nothing was lost`);
      else if (redis !== undefined)
        log.info(
          r,
          `${summary}. They stay in Redis: the other servers, or this one when it starts again, deliver them`,
        );
      else
        log.warn(
          r,
          `${summary}. The memory store keeps nothing across a restart: these ${left} messages are lost`,
        );
      await app.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Resolves once Redis answers PING; rejects at once when it cannot be reached (no retries). */
async function reachable(url: string): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}

void main();
