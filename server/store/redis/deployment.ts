/**
 * Everything a Baton server keeps in Redis, opened together as `createApp` takes it: flow control
 * (the store), deduplication ids, the records (schedules, URL groups, queues, Workflow runs and
 * waits), the message log with its dead letters, and the logs, which follow the event stream
 * together (one script call per batch, see stream-follower.ts). server/main.ts opens it for
 * `--redis`; the tests that run several servers on one Redis open it the same way.
 */
import type { AppOptions } from '../../app';
import { DEFAULT_RETENTION, type RetentionOptions } from '../../flow/retention';
import { RedisDedupIds } from '../dedup';
import { RedisDeliveryLogs } from './delivery-logs';
import { RedisMessages, type RedisMessagesOptions } from './messages';
import { RedisRecords } from './records';
import { RedisStore, type RedisStoreOptions } from './redis-store';
import { StreamFollower } from './stream-follower';

export interface RedisDeploymentOptions extends Omit<RedisStoreOptions, 'url' | 'prefix' | 'warn'> {
  url: string;
  prefix: string;
  /** What the message log, the dead letters and the logs keep; `DEFAULT_RETENTION` by default. */
  retention?: RetentionOptions;
  onDeadLetterDropped?: RedisMessagesOptions['onDeadLetterDropped'];
  warn: (msg: string, err?: unknown) => void;
}

/** The parts of `AppOptions` a deployment on Redis fills. */
export type RedisParts = Required<
  Pick<AppOptions, 'store' | 'dedupIds' | 'records' | 'sharedLog' | 'sharedLogs'>
> & { sharedLog: RedisMessages; sharedLogs: RedisDeliveryLogs };

/** Opens every part; rejects when the store cannot start (Redis unreachable, older than 7). */
export async function openRedisDeployment(options: RedisDeploymentOptions): Promise<RedisParts> {
  const {
    url,
    prefix,
    retention = DEFAULT_RETENTION,
    onDeadLetterDropped,
    warn,
    ...storeOptions
  } = options;
  const store = await RedisStore.open({ url, prefix, warn, ...storeOptions });
  const follower = new StreamFollower({ url, prefix, what: 'message log and logs', warn });
  return {
    store,
    dedupIds: new RedisDedupIds(url, prefix),
    records: new RedisRecords(url, prefix),
    sharedLog: new RedisMessages({
      url,
      prefix,
      history: retention.history,
      keepBodies: retention.keepBodies,
      deadLetters: retention.deadLetters,
      ...(onDeadLetterDropped !== undefined ? { onDeadLetterDropped } : {}),
      warn,
      follower,
    }),
    sharedLogs: new RedisDeliveryLogs({ url, prefix, limit: retention.logs, warn, follower }),
  };
}
