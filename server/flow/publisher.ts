import { createHash } from 'node:crypto';
import type { EngineEvent } from '../../shared/events';
import type { FlowConfig } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import type { FlowController } from './controller';
import type { MessageLog } from './message-log';

/** How long a deduplication id is remembered (QStash's OpenAPI: 10 minutes). */
export const DEDUP_WINDOW_MS = 10 * 60_000;
/** Workflow runs remembered for their later steps; the oldest are forgotten first. */
const MAX_RUNS = 100_000;

/** What a destination answered (http or simulated), kept for the callback that may follow. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface RunConfig {
  messageId: MessageId;
  key?: KeyId;
  config?: FlowConfig;
  retries?: number;
  retryDelay?: string;
}

interface Pending {
  parsed: ParsedPublish;
  answer?: Answer;
}

export interface PublishResult {
  messageId: MessageId;
  deduplicated?: true;
}

/**
 * Everything between a parsed publish and the engine: deduplication, Workflow runs (later steps
 * inherit the run's flow control), the message log, and the callbacks published when a message
 * is delivered or fails for good.
 */
export class Publisher {
  private readonly dedup = new Map<string, { messageId: MessageId; until: number }>();
  private readonly runs = new Map<string, RunConfig>();
  private readonly pending = new Map<MessageId, Pending>();

  constructor(
    private readonly controller: FlowController,
    private readonly log: MessageLog,
    private readonly newId: () => MessageId,
  ) {
    controller.onEvents((events) => this.follow(events));
  }

  publish(parsed: ParsedPublish): PublishResult {
    const now = this.controller.now();
    const dedupId = this.dedupIdOf(parsed);
    if (dedupId !== undefined) {
      const seen = this.dedup.get(dedupId);
      if (seen !== undefined && seen.until > now)
        return { messageId: seen.messageId, deduplicated: true };
    }
    const wf = parsed.workflow;
    if (wf !== undefined && wf.init) {
      const run = this.runs.get(wf.runId);
      if (run !== undefined) return { messageId: run.messageId, deduplicated: true };
    }
    const input = { ...parsed.input };
    const payload = { ...parsed.payload };
    if (wf !== undefined && !wf.init) {
      // Later steps of a run carry no flow-control headers: they inherit the run's.
      const run = this.runs.get(wf.runId);
      if (run !== undefined && input.key === undefined) {
        if (run.key !== undefined) input.key = run.key;
        if (run.config !== undefined) input.config = run.config;
        if (input.retries === undefined && run.retries !== undefined) input.retries = run.retries;
        if (payload.retryDelay === undefined && run.retryDelay !== undefined)
          payload.retryDelay = run.retryDelay;
      }
    }
    const id = this.newId();
    const entry = this.log.accepted(
      id,
      input.key ?? null,
      payload,
      now,
      parsed.label,
      parsed.urlGroup,
    );
    if (parsed.callback !== undefined || parsed.failureCallback !== undefined)
      this.pending.set(id, { parsed });
    try {
      // A delivery never ends within publish (its end is a later task), so the entry is still live.
      entry.handle = this.controller.publish({ id, ...input }, payload).message;
    } catch (err) {
      this.pending.delete(id);
      this.log.discard(id);
      throw err;
    }
    if (dedupId !== undefined)
      this.dedup.set(dedupId, { messageId: id, until: now + DEDUP_WINDOW_MS });
    if (wf !== undefined && wf.init)
      this.rememberRun(wf.runId, { messageId: id, ...input, retryDelay: payload.retryDelay });
    this.forgetExpired(now);
    return { messageId: id };
  }

  /** Keeps what a destination answered, for a callback that may follow. */
  answered(id: MessageId, answer: Answer): void {
    const p = this.pending.get(id);
    if (p !== undefined) p.answer = answer;
  }

  private dedupIdOf(parsed: ParsedPublish): string | undefined {
    if (parsed.deduplicationId !== undefined) {
      // A publish to a URL group makes one message per endpoint, all with the same id: each is
      // deduplicated on its own, so the id counts per group and endpoint.
      const g = parsed.urlGroup;
      return g === undefined
        ? `id:${parsed.deduplicationId}`
        : `group:${g}\n${parsed.payload.destination}\n${parsed.deduplicationId}`;
    }
    if (!parsed.contentBasedDeduplication) return undefined;
    const h = createHash('sha256');
    h.update(parsed.payload.destination).update('\n').update(parsed.payload.method).update('\n');
    for (const [k, v] of Object.entries(parsed.payload.headers).sort()) h.update(`${k}:${v}\n`);
    h.update(parsed.payload.body ?? '');
    return `content:${h.digest('base64url')}`;
  }

  private rememberRun(runId: string, run: RunConfig): void {
    this.runs.set(runId, run);
    if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value as string);
  }

  private forgetExpired(now: number): void {
    // Insertion order is expiry order, so only the front can be stale.
    for (const [id, d] of this.dedup) {
      if (d.until > now) break;
      this.dedup.delete(id);
    }
  }

  private follow(events: readonly EngineEvent[]): void {
    for (const e of events) {
      if (
        e.type !== 'message:delivered' &&
        e.type !== 'message:dead-lettered' &&
        e.type !== 'message:cancelled'
      )
        continue;
      const p = this.pending.get(e.messageId);
      if (p === undefined) continue;
      this.pending.delete(e.messageId);
      const target = e.type === 'message:delivered' ? p.parsed.callback : p.parsed.failureCallback;
      if (target === undefined || e.type === 'message:cancelled') continue;
      const body = this.callbackBody(e.messageId, p, e.at);
      const headers: HeaderBag = { ...target.headers, 'content-type': 'application/json' };
      // Published after this batch has reached every listener, so events stay in seq order.
      queueMicrotask(() => {
        try {
          this.publish(parsePublish(target.url, headers, body, this.controller.now()));
        } catch {
          // A callback whose own headers are invalid cannot be delivered; its source is already ended.
        }
      });
    }
  }

  private callbackBody(id: MessageId, p: Pending, at: Millis): string {
    const m = this.log.get(id);
    const src = p.parsed.payload;
    const last = m?.attempts[m.attempts.length - 1];
    const header: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(p.answer?.headers ?? {})) header[k] = [v];
    return JSON.stringify({
      status: p.answer?.status ?? last?.status ?? 0,
      header,
      body: Buffer.from(p.answer?.body ?? '').toString('base64'),
      retried: last?.attempt ?? 0,
      maxRetries: p.parsed.input.retries ?? 3,
      sourceMessageId: id,
      url: src.destination,
      method: src.method,
      sourceHeader: Object.fromEntries(Object.entries(src.headers).map(([k, v]) => [k, [v]])),
      sourceBody: Buffer.from(src.body ?? '').toString('base64'),
      createdAt: String(m?.createdAt ?? at),
      ...(m?.dlqId !== undefined ? { dlqId: m.dlqId } : {}),
    });
  }
}
