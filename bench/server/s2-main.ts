/**
 * `npx tsx bench/server/s2-main.ts [--quick] [--only memory,redis,redis2,bullmq]`: S2 (two Baton
 * servers on Redis, one in memory, BullMQ) alone; `--only` runs some of them (to compare changes).
 */
import { IMPLS, s2Section, type S2Impl } from './s2';

const SHORT: Record<string, S2Impl> = {
  memory: 'baton (memory)',
  redis: 'baton (redis)',
  redis2: 'baton ×2 (redis)',
  bullmq: 'bullmq',
};
const i = process.argv.indexOf('--only');
const only =
  i < 0
    ? IMPLS
    : (process.argv[i + 1] ?? '').split(',').map((name) => {
        const impl = SHORT[name];
        if (impl === undefined)
          throw new Error(`--only: unknown "${name}" (${Object.keys(SHORT)})`);
        return impl;
      });
const { report } = await s2Section(process.argv.includes('--quick'), only);
console.log(report);
