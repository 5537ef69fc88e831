import { parseFlowControlHeaders } from '../../shared/protocol/flow-control';
import type { HeaderBag } from '../../shared/protocol/publish';
import type { FlowController } from '../flow/controller';
import type { LoggedMessage, MessageLog } from '../flow/message-log';
import type { WorkflowWaiters } from '../flow/workflow-waiters';
import { describeRun, matchesRun, parsePage, parseRunFilter } from '../flow/workflow-logs';
import type { Run, Workflows } from '../flow/workflows';
import { HttpError, ok, type Reply } from './respond';
import { after, type MaybePromise } from '../store/flow-store';

/** Most runs one bulk call acts on when it gives no `count`. */
const DEFAULT_BULK_COUNT = 100;

/**
 * The Workflow endpoints, framework-free: a run's steps, its end, waits and notifies, the run
 * logs, bulk cancel and the Workflow dead-letter actions.
 */
export function workflowHandlers(
  controller: FlowController,
  workflows: Workflows,
  waiters: WorkflowWaiters,
  log: MessageLog,
) {
  /** Runs matching a bulk action's query (ids, filters, or all of them with `count`). */
  function selectRuns(q: URLSearchParams, only: (run: Run) => boolean): Run[] {
    const filter = parseRunFilter(q, ['count', 'cursor']);
    const { count, offset } = parsePage(q, DEFAULT_BULK_COUNT);
    const hits: Run[] = [];
    let skipped = 0;
    for (const run of workflows.all()) {
      if (!only(run) || !matchesRun(run, filter)) continue;
      if (skipped++ < offset) continue;
      if (hits.length >= count) break;
      hits.push(run);
    }
    return hits;
  }

  function deadLetterOfRun(dlqId: string): { m: LoggedMessage; run: Run } {
    const m = log.deadLetter(dlqId);
    if (m === undefined) throw new HttpError(404, `dead letter "${dlqId}" not found`);
    const runId = m.payload.headers['upstash-workflow-runid'];
    const run = runId === undefined ? undefined : workflows.get(runId);
    if (run === undefined)
      throw new HttpError(400, `dead letter "${dlqId}" is not a step of a known workflow run`);
    return { m, run };
  }

  /**
   * The Workflow dead letters a DLQ action names: `dlqIds`, or a run filter (`workflowRunId`,
   * `workflowUrl`, `label`, `flowControlKey`, `fromDate`, `toDate`), or all of them (the client
   * sends only `count` for `{ all: true }`); at most `count` (default 100), from `cursor`.
   */
  function selectDeadLetters(q: URLSearchParams): { hits: LoggedMessage[]; cursor?: string } {
    const ids = q.getAll('dlqIds');
    if (ids.length > 0) {
      for (const name of q.keys()) {
        if (name !== 'dlqIds' && name !== 'cursor')
          throw new HttpError(400, `dlqIds cannot be combined with "${name}"`);
      }
      return { hits: ids.map((id) => deadLetterOfRun(id).m) };
    }
    const filter = parseRunFilter(q, ['count', 'cursor']);
    const { count, offset } = parsePage(q, DEFAULT_BULK_COUNT);
    const hits: LoggedMessage[] = [];
    let seen = 0;
    for (const m of log.deadLetters()) {
      const runId = m.payload.headers['upstash-workflow-runid'];
      const run = runId === undefined ? undefined : workflows.get(runId);
      if (run === undefined || !matchesRun(run, filter)) continue;
      if (seen++ < offset) continue;
      if (hits.length >= count) return { hits, cursor: String(offset + count) };
      hits.push(m);
    }
    return { hits };
  }

  /** `dlq resume|restart`: each named failed run goes on from its failed call, or from its start. */
  async function revive(
    how: 'resume' | 'restart',
    q: URLSearchParams,
    headers: HeaderBag,
  ): Promise<Reply> {
    const flow = parseFlowControlHeaders(
      headers['upstash-flow-control-key'],
      headers['upstash-flow-control-value'],
    );
    const retriesRaw = headers['upstash-retries'];
    if (retriesRaw !== undefined && !/^\d{1,3}$/.test(retriesRaw.trim()))
      throw new HttpError(400, `Upstash-Retries must be a whole number, got "${retriesRaw}"`);
    const { hits, cursor } = selectDeadLetters(q);
    // Every one is checked before anything is published.
    const targets = hits.map((m) => deadLetterOfRun(m.dlqId!));
    for (const { m, run } of targets) {
      if (run.state !== 'RUN_FAILED' || run.dlqId !== m.dlqId)
        throw new HttpError(
          400,
          `workflow run "${run.id}" did not fail at dead letter "${m.dlqId}"`,
        );
    }
    const workflowRuns = [];
    for (const { m, run } of targets) {
      await workflows.revive(run, how, {
        ...(flow !== undefined ? { key: flow.key, config: flow.config } : {}),
        ...(retriesRaw !== undefined ? { retries: Number(retriesRaw.trim()) } : {}),
      });
      log.removeDeadLetter(m.dlqId!);
      workflowRuns.push({ workflowRunId: run.id, workflowCreatedAt: String(run.createdAt) });
    }
    return ok({ workflowRuns, ...(cursor !== undefined ? { cursor } : {}) });
  }

  return {
    /** `GET /v2/workflows/runs/{id}`: the run's raw steps (the SDK's lazy fetch). */
    steps(runId: string): Reply {
      return ok(workflows.rawSteps(runId));
    },

    /** `DELETE /v2/workflows/runs/{id}?cancel=…`: the run returned, or cancelled itself. */
    end(runId: string, q: URLSearchParams, body: string | undefined): Reply {
      workflows.end(runId, q.get('cancel') === 'true', body, controller.now());
      return ok();
    },

    /** `DELETE /v2/workflows/runs?…`: the runs named (ids or filters), at most `count`. */
    cancelMany(q: URLSearchParams): Reply {
      const runs = selectRuns(q, (run) => run.state === 'RUN_STARTED');
      for (const run of runs) workflows.cancelRun(run, controller.now());
      return ok({ cancelled: runs.length });
    },

    /** `GET /v2/workflows/events`: runs, newest first, with their steps. */
    logs(q: URLSearchParams): Reply {
      const groupBy = q.get('groupBy');
      if (groupBy !== null && groupBy !== 'workflowRunId')
        throw new HttpError(400, `groupBy must be workflowRunId, got "${groupBy}"`);
      const filter = parseRunFilter(q, ['count', 'cursor', 'groupBy']);
      const { count, offset } = parsePage(q, 10);
      const matching = [...workflows.all()].filter((run) => matchesRun(run, filter)).reverse();
      const page = matching.slice(offset, offset + count);
      const next = offset + count < matching.length ? String(offset + count) : '';
      return ok({ cursor: next, runs: page.map((run) => describeRun(run, workflows, log)) });
    },

    wait(eventId: string, headers: HeaderBag, body: string | undefined): MaybePromise<Reply> {
      return after(waiters.wait(eventId, headers, body), () => ok());
    },

    notify(eventId: string, body: string | undefined, runId?: string): MaybePromise<Reply> {
      return after(waiters.notify(eventId, body ?? '', runId), ok);
    },

    waiters(eventId: string): Reply {
      return ok(waiters.waiters(eventId));
    },

    dlqResume: (q: URLSearchParams, headers: HeaderBag) => revive('resume', q, headers),
    dlqRestart: (q: URLSearchParams, headers: HeaderBag) => revive('restart', q, headers),

    /** `POST /v2/workflows/dlq/callback/{dlqId}`: the failed run's failure callback, again. */
    dlqCallback(dlqId: string): MaybePromise<Reply> {
      const { run } = deadLetterOfRun(dlqId);
      return after(workflows.retryFailureCallback(run), () =>
        ok({ workflowRunId: run.id, workflowCreatedAt: String(run.createdAt) }),
      );
    },

    /** `DELETE /v2/workflows/dlq?…`: the dead letters named (ids, a filter, or all with `count`). */
    dlqDelete(q: URLSearchParams): Reply {
      const { hits, cursor } = selectDeadLetters(q);
      let deleted = 0;
      for (const m of hits) if (log.removeDeadLetter(m.dlqId!)) deleted++;
      return ok({ deleted, ...(cursor !== undefined ? { cursor } : {}) });
    },

    /** The run fields a dead letter of a Workflow run shows (the SDK's `PublicDLQMessage`). */
    deadLetterFields(m: LoggedMessage) {
      const runId = m.payload.headers['upstash-workflow-runid'];
      const run = runId === undefined ? undefined : workflows.get(runId);
      if (run === undefined) return undefined;
      return {
        workflowRunId: run.id,
        workflowUrl: run.url,
        workflowCreatedAt: run.createdAt,
        ...(run.label !== undefined && m.label === undefined ? { label: run.label } : {}),
        ...(run.failure !== undefined
          ? {
              failureCallback: run.failure.url,
              failureCallbackInfo: { state: run.failure.state },
            }
          : {}),
      };
    },
  };
}
