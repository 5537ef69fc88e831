/**
 * `Upstash-Cron`: QStash's five cron fields, optionally in a `CRON_TZ=` zone, and their ticks.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';

const CRON_FIELDS = 'minute hour day-of-month month day-of-week';
const CRON_HELP = `a 5-field cron expression (${CRON_FIELDS}) like "*/5 * * * *", optionally prefixed "CRON_TZ=<IANA zone> "`;

/** A parsed `Upstash-Cron`: the five fields and the zone they are read in. */
export interface CronSpec {
  expression: string;
  tz: string;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads `Upstash-Cron`: five fields (QStash has no seconds field), optionally prefixed
 * `CRON_TZ=<IANA zone> `; UTC otherwise. Throws `InvalidRequest` saying what is wrong.
 */
export function parseCron(raw: string | undefined): CronSpec {
  if (raw === undefined || raw.trim() === '')
    throw new InvalidRequest(`Upstash-Cron is required: ${CRON_HELP}`);
  let text = raw.trim();
  let tz = 'UTC';
  const zoned = /^CRON_TZ=(\S*)\s*(.*)$/.exec(text);
  if (zoned !== null) {
    tz = zoned[1]!;
    text = zoned[2]!;
    if (tz === '' || !isTimeZone(tz))
      throw new InvalidRequest(`Upstash-Cron: "${tz}" in CRON_TZ is not an IANA time zone`);
  }
  const fields = text === '' ? [] : text.split(/\s+/);
  if (fields.length !== 5) {
    const seconds = fields.length === 6 ? ' (a seconds field is not supported)' : '';
    throw new InvalidRequest(
      `Upstash-Cron must have 5 fields (${CRON_FIELDS}), got ${fields.length} in "${raw}"${seconds}`,
    );
  }
  const spec = { expression: fields.join(' '), tz };
  try {
    CronExpressionParser.parse(spec.expression, { tz });
  } catch (err) {
    throw new InvalidRequest(
      `Upstash-Cron "${raw}" is not a valid cron expression: ${(err as Error).message}`,
    );
  }
  return spec;
}

/** The first tick strictly after `after`, or null when the expression has none. */
export function nextTick(spec: CronSpec, after: number): Millis | null {
  try {
    const at = CronExpressionParser.parse(spec.expression, { currentDate: after, tz: spec.tz })
      .next()
      .getTime();
    return Number.isFinite(at) ? (at as Millis) : null;
  } catch {
    return null;
  }
}
