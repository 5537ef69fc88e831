/**
 * One line per log entry, in words: what happened and to which message, its id whole (the ids
 * are what people search for and paste). Pure, for tests.
 */
import type { LogEntry } from '../store/event-log';
import { formatDuration } from './format';

/** The details column of the event log. */
export function describeEntry(e: LogEntry): string {
  switch (e.type) {
    case 'snapshot':
      return `snapshot: the picture was replaced (${e.keys} keys)`;
    case 'message:accepted':
      return (
        `${e.messageId} accepted${e.notBefore !== undefined ? ', delayed' : ''}` +
        (e.workflow !== undefined ? `, step ${e.workflow.step} of run ${e.workflow.runId}` : '')
      );
    case 'message:waitlisted':
      return `${e.messageId} waits ${e.position}. for ${e.reason}`;
    case 'token:acquired':
      return `${e.messageId} took a token (${e.inFlight} in flight)${e.waitedMs > 0 ? ` after ${formatDuration(e.waitedMs)}` : ''}`;
    case 'token:handed-off':
      return `${e.from} → ${e.to}, waited ${formatDuration(e.waitedMs)}`;
    case 'token:released':
      return `${e.messageId} gave its token back (${e.inFlight} in flight)`;
    case 'delivery:succeeded':
      return `${e.messageId} answered ${e.status ?? 'ok'} in ${formatDuration(e.durationMs)}`;
    case 'delivery:failed':
      return `${e.messageId} failed${e.status !== undefined ? ` (${e.status})` : ''}${e.retryAt !== null ? ', will retry' : ''}`;
    case 'message:delivered':
      return `${e.messageId} delivered`;
    case 'message:dead-lettered':
      return `${e.messageId} dead-lettered: ${e.reason}`;
    case 'message:cancelled':
      return `${e.messageId} cancelled`;
    case 'key:configured':
      return `parallelism ${e.parallelism ?? '∞'}, rate ${e.rate ?? '∞'} (from ${e.source})`;
    case 'key:paused':
      return 'paused';
    case 'key:resumed':
      return 'resumed';
    case 'key:rate-reset':
      return 'rate window reset';
    case 'key:forgotten':
      return 'forgotten after being idle';
    case 'lease:expired':
      return `${e.messageId}'s lease ended (its server stopped or died)`;
    case 'global:configured':
      return `global parallelism ${e.parallelism ?? '∞'}`;
  }
}
