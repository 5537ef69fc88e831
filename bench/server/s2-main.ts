/**
 * `npx tsx bench/server/s2-main.ts [--quick] [--only memory,redis,redis2,bullmq] [--commandstats]
 * [--cpu-prof <dir>]`: S2 (two Baton servers on Redis, one in memory, BullMQ) alone; `--only` runs
 * some of them (to compare changes); `--commandstats` adds Redis's commands per delivery of each
 * run on Redis; `--cpu-prof` writes a CPU profile of each Baton server into <dir>.
 */
import path from 'node:path';
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
const p = process.argv.indexOf('--cpu-prof');
const cpuProfDir = p < 0 ? undefined : path.resolve(process.argv[p + 1] ?? '.');
const { report } = await s2Section(process.argv.includes('--quick'), only, {
  commandstats: process.argv.includes('--commandstats'),
  ...(cpuProfDir !== undefined ? { cpuProfDir } : {}),
});
console.log(report);
