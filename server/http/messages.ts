import { messageId, type Millis } from '../../shared/engine/units';
import type { FlowController } from '../flow/controller';
import type { LoggedMessage, MessageReads } from '../flow/message-log';
import type { Publisher, PublishResult } from '../flow/publisher';
import { checkQueueName, type Queues } from '../flow/queues';
import { GROUP_NAME_HELP, isUrlGroupName, type UrlGroups } from '../flow/url-groups';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import { shownBody, shownHeaders } from '../../shared/protocol/redact';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { askedForAll, matchesMessage, parseSelection } from './message-filter';
import { HttpError, ok, type Reply } from './respond';
import { after, all, attempt, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';

const NAME_WHAT = (verb: string, ids: string) =>
  `name what to ${verb}: ${ids}, a filter (flowControlKey, label, url, topicName, scheduleId, queueName, host, path, fromDate, toDate), or all=true`;

/** Largest batch accepted in one `POST /v2/batch`. */
const MAX_BATCH = 1000;
/** Most messages one batch may create, counting one per endpoint for a URL group's item. */
const MAX_BATCH_MESSAGES = 10_000;

/** A message as `GET /v2/messages/{id}` and the dead-letter list show it (QStash's field names). */
export function describeMessage(m: LoggedMessage) {
  const p = m.payload;
  const last = m.attempts[m.attempts.length - 1];
  return {
    messageId: m.messageId,
    url: p.destination,
    method: p.method,
    header: Object.fromEntries(
      Object.entries(shownHeaders(p.headers, p.redact)).map(([k, v]) => [k, [v]]),
    ),
    ...shownBody(p.body, p.redact),
    createdAt: m.createdAt,
    ...(m.flowControlKey !== null ? { flowControlKey: m.flowControlKey } : {}),
    ...(m.label !== undefined ? { label: m.label } : {}),
    ...(m.urlGroup !== undefined ? { topicName: m.urlGroup } : {}),
    state: m.status,
    retried: last?.attempt ?? 0,
    attempts: m.attempts,
    ...(m.nextAt !== undefined ? { notBefore: m.nextAt } : {}),
    ...(m.endedAt !== undefined ? { endedAt: m.endedAt } : {}),
    ...(m.reason !== undefined ? { reason: m.reason } : {}),
    ...(m.dlqId !== undefined ? { dlqId: m.dlqId, responseStatus: last?.status ?? 0 } : {}),
  };
}

function lowerCaseHeaders(raw: unknown, index: number): HeaderBag {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HttpError(400, `batch item ${index}: headers must be an object of strings`);
  }
  const out: HeaderBag = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string')
      throw new HttpError(400, `batch item ${index}: header "${k}" must be a string`);
    out[k.toLowerCase()] = v;
  }
  return out;
}

/**
 * What a publish to `destination` becomes: one message for a URL, or one per endpoint for a URL
 * group's name (a bare name: it has no scheme). Everything is parsed before anything is published.
 */
type Resolved = { kind: 'url'; parsed: ParsedPublish } | { kind: 'group'; parsed: ParsedPublish[] };

/** A batch item resolved, or why it could not be. */
type Settled = { r: Resolved } | { err: unknown };

/** The message endpoints, framework-free: publish, batch, read, cancel, dead letters. */
export function messageHandlers(
  controller: FlowController,
  publisher: Publisher,
  log: MessageReads,
  groups: UrlGroups,
  queues: Queues,
  /** The run fields of a dead letter that was a call of a Workflow run. */
  runFields: (m: LoggedMessage) => MaybePromise<Record<string, unknown> | undefined>,
) {
  function resolve(
    destination: string,
    headers: HeaderBag,
    body: Uint8Array | string | undefined,
    now: Millis,
  ): MaybePromise<Resolved> {
    if (isUrlGroupName(destination)) {
      // One read of the group (in Redis with --redis, so a group made on any server is known).
      return after(groups.publishesTo(destination, headers, body, now), (parsed) => {
        if (parsed === undefined) throw new HttpError(404, `url group "${destination}" not found`);
        return { kind: 'group', parsed };
      });
    }
    if (destination !== '' && !URL.canParse(destination)) {
      throw new HttpError(
        400,
        `destination "${destination}" is neither an absolute URL (http://, https:// or sim://) nor a url group name (${GROUP_NAME_HELP})`,
      );
    }
    return { kind: 'url', parsed: parsePublish(destination, headers, body, now) };
  }

  /** Publishes what `resolve` read; a group answers one `{messageId, url}` per endpoint. */
  function publishResolved(
    r: Resolved,
  ): MaybePromise<PublishResult | Array<PublishResult & { url: string }>> {
    if (r.kind === 'url') return publisher.publish(r.parsed);
    return all(r.parsed.map(publishTo));
  }

  /** Publishes one message; answers with its destination too (a group's or a batch's item). */
  function publishTo(p: ParsedPublish): MaybePromise<PublishResult & { url: string }> {
    return after(publisher.publish(p), (result) => ({ ...result, url: p.payload.destination }));
  }

  return {
    /** `POST /v2/publish/{destination}`: a URL, or a URL group's name (an array of answers). */
    publish(
      destination: string,
      headers: HeaderBag,
      body: Uint8Array | undefined,
    ): MaybePromise<Reply> {
      return chain(resolve(destination, headers, body, controller.now()), (r) =>
        after(publishResolved(r), ok),
      );
    },

    /**
     * `POST /v2/enqueue/{queue}/{destination}`: a publish whose messages wait under the queue's
     * key (`queue:{name}`) with its parallelism, unless they carry their own flow-control key
     * (theirs wins). A queue enqueued to before it was upserted is created, as QStash does.
     */
    async enqueue(
      queueName: string,
      destination: string,
      headers: HeaderBag,
      body: Uint8Array | undefined,
    ): Promise<Reply> {
      let name = queueName;
      try {
        name = decodeURIComponent(queueName);
      } catch {
        // Left raw: its `%` fails the name check below.
      }
      checkQueueName(name);
      const r = await resolve(destination, headers, body, controller.now());
      // Everything is parsed before the queue is created or anything is published.
      const flow = await queues.flowFor(name);
      for (const p of r.kind === 'url' ? [r.parsed] : r.parsed) {
        if (p.input.key === undefined) p.input = { ...p.input, ...flow };
      }
      return ok(await publishResolved(r));
    },

    /** Every item is checked before any is accepted: a bad item refuses the whole batch. */
    batch(rawBody: string | undefined): MaybePromise<Reply> {
      let items: unknown;
      try {
        items = JSON.parse(rawBody ?? '');
      } catch {
        throw new HttpError(400, 'batch body must be a JSON array of {destination, headers, body}');
      }
      if (!Array.isArray(items)) throw new HttpError(400, 'batch body must be a JSON array');
      if (items.length > MAX_BATCH)
        throw new HttpError(400, `a batch holds at most ${MAX_BATCH} messages`);
      const now = controller.now();
      const resolveItem = (item: unknown, i: number): MaybePromise<Resolved> => {
        if (typeof item !== 'object' || item === null)
          throw new HttpError(400, `batch item ${i} must be an object`);
        const { destination, headers, body } = item as Record<string, unknown>;
        if (typeof destination !== 'string')
          throw new HttpError(400, `batch item ${i}: destination must be a string`);
        // A JSON value that is not a string is sent as its JSON text: the Workflow SDK's
        // `context.call` passes the caller's body object through as it is.
        const text = body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
        return attempt(
          () => resolve(destination, lowerCaseHeaders(headers, i), text, now),
          (r) => r,
          (err) => {
            if (err instanceof HttpError || err instanceof InvalidRequest)
              throw new HttpError(err.status, `batch item ${i}: ${err.message}`);
            throw err;
          },
        );
      };
      // Every item settles (a group's read may be a promise) before the first bad one, in item
      // order, refuses the batch: no rejection is left unheard.
      const settled = all(
        items.map((item: unknown, i) =>
          attempt(
            () => resolveItem(item, i),
            (r): Settled => ({ r }),
            (err): Settled => ({ err }),
          ),
        ),
      );
      return chain(settled, (outcomes) => {
        const parsed: Resolved[] = [];
        for (const o of outcomes) {
          if ('err' in o) throw o.err;
          parsed.push(o.r);
        }
        const total = parsed.reduce((n, r) => n + (r.kind === 'url' ? 1 : r.parsed.length), 0);
        if (total > MAX_BATCH_MESSAGES) {
          throw new HttpError(
            400,
            `a batch may create at most ${MAX_BATCH_MESSAGES} messages (a url group's item counts one per endpoint), this one ${total}`,
          );
        }
        // A URL group's item answers with the array a publish to the group answers, nested in its
        // place: the client's `batch` returns the array as it is (typed `PublishToUrlGroupsResponse`
        // for such an item) and parses this without error. QStash's own shape for it is not
        // documented precisely ("an array of responses for each destination in the URL Group").
        return after(
          all(parsed.map((r) => (r.kind === 'url' ? publishTo(r.parsed) : publishResolved(r)))),
          ok,
        );
      });
    },

    get(id: string): MaybePromise<Reply> {
      return after(log.get(messageId(id)), (m) => {
        if (m === undefined) throw new HttpError(404, `message "${id}" not found`);
        return ok(describeMessage(m));
      });
    },

    /** Cancels one message; 404 when unknown or already ended. */
    cancel(id: string): MaybePromise<Reply> {
      const go = (m: LoggedMessage | undefined): MaybePromise<Reply> => {
        if (m === undefined) throw new HttpError(404, `message "${id}" not found`);
        if (m.handle === undefined)
          throw new HttpError(404, `message "${id}" has already ended (${m.status})`);
        return after(controller.cancel(m.handle), () => ok({ cancelled: 1 }));
      };
      const m = log.get(messageId(id));
      return m instanceof Promise ? m.then(go) : go(m);
    },

    /**
     * `DELETE /v2/messages`: the pending messages named by `messageIds`, or matching a filter, or
     * all of them when asked by name (`all=true`, or the clients' bare `count`); at most `count`.
     */
    async cancelMany(q: URLSearchParams): Promise<Reply> {
      const sel = parseSelection(q, 'messageIds');
      if (sel.all && !askedForAll(q)) throw new HttpError(400, NAME_WHAT('cancel', 'messageIds'));
      const targets: (LoggedMessage | undefined)[] = [];
      if (sel.ids.length > 0) for (const id of sel.ids) targets.push(await log.get(messageId(id)));
      else {
        for (const m of await log.pending()) {
          if (targets.length >= sel.count) break;
          // An attempt in flight runs to its end: bulk cancel takes what has not started.
          if (m.status !== 'in-flight' && matchesMessage(m, sel.filter)) targets.push(m);
        }
      }
      let cancelled = 0;
      for (const m of targets) {
        // Checked as each is reached: only a live message has a handle (an earlier cancel may have ended it).
        if (m?.handle === undefined) continue;
        await controller.cancel(m.handle);
        cancelled++;
      }
      return ok({ cancelled });
    },

    /**
     * `GET /v2/dlq`: by `flowControlKey`, `dlqIds`, and `source=workflow` (the Workflow client's
     * list: only calls of runs, with their run's fields) or `workflowRunId`.
     */
    async listDeadLetters(q: URLSearchParams): Promise<Reply> {
      const sel = parseSelection(q, 'dlqIds', [
        'source',
        'workflowRunId',
        'workflowUrl',
        'workflowCreatedAt',
        'order',
      ]);
      const ids = new Set(sel.ids);
      const source = q.get('source');
      const runId = q.get('workflowRunId');
      const offset = Number(q.get('cursor') ?? '0') || 0;
      const messages = [];
      let seen = 0;
      for (const m of await log.deadLetters()) {
        if (ids.size > 0 && !ids.has(m.dlqId ?? '')) continue;
        const run = await runFields(m);
        // A run's call is labelled with its run's label.
        const label = m.label ?? (run?.label as string | undefined);
        if (!matchesMessage(label === m.label ? m : { ...m, label }, sel.filter)) continue;
        if ((source === 'workflow' || runId !== null) && run === undefined) continue;
        if (runId !== null && run?.workflowRunId !== runId) continue;
        if (seen++ < offset) continue;
        if (messages.length >= sel.count)
          return ok({ messages, cursor: String(offset + sel.count) });
        messages.push({ ...describeMessage(m), ...run });
      }
      return ok({ messages });
    },

    deleteDeadLetter(dlqId: string): MaybePromise<Reply> {
      return after(log.removeDeadLetter(dlqId), (removed) => {
        if (!removed) throw new HttpError(404, `dead letter "${dlqId}" not found`);
        return ok();
      });
    },

    /** `DELETE /v2/dlq`: the dead letters named by `dlqIds`, or matching a filter, or all by name. */
    async deleteDeadLetters(q: URLSearchParams): Promise<Reply> {
      const sel = parseSelection(q, 'dlqIds');
      if (sel.all && !askedForAll(q)) throw new HttpError(400, NAME_WHAT('delete', 'dlqIds'));
      const targets: string[] = [];
      if (sel.ids.length > 0) targets.push(...sel.ids);
      else {
        for (const m of await log.deadLetters()) {
          if (targets.length >= sel.count) break;
          if (matchesMessage(m, sel.filter)) targets.push(m.dlqId!);
        }
      }
      let deleted = 0;
      for (const id of targets) if (await log.removeDeadLetter(id)) deleted++;
      return ok({ deleted });
    },
  };
}
