/**
 * Baton's entry point: the only module that reads the environment. It parses the configuration,
 * builds the app with the in-memory store and starts listening. Nothing imports this file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createApp } from './app';
import { ConfigError, helpText, readConfig } from './config';

function main(): void {
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
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const app = createApp({
    log,
    token: config.token,
    globalParallelism: config.globalParallelism,
    policy: config.policy,
    requestTimeoutMs: config.requestTimeoutMs,
    keyTtlMs: config.keyTtlMs,
    staticDir: path.join(root, 'dist', 'client'),
  });
  app.http.listen(config.port, config.host, () => {
    const address = app.http.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    log.info({ host: config.host, port }, `Baton listening on http://${config.host}:${port}`);
  });
  const stop = () => {
    log.info('shutting down');
    void app.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
