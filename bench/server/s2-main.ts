/** `npx tsx bench/server/s2-main.ts [--quick]`: S2 (two Baton servers on Redis, one in memory, BullMQ) alone. */
import { s2Section } from './s2';

const { report } = await s2Section(process.argv.includes('--quick'));
console.log(report);
