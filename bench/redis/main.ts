/** `npx tsx bench/redis/main.ts [--quick]`: the Redis section (W5) alone. */
import { redisSection } from './section';

const { report } = await redisSection(process.argv.includes('--quick'));
console.log(report);
