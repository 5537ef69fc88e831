import { parseFlowControlHeaders } from '../../shared/protocol/flow-control';
import type { HeaderBag } from '../../shared/protocol/publish';
import type { FlowController } from '../flow/controller';
import type { LoggedMessage } from '../flow/message-log';
import type { WorkflowWaiters } from '../flow/workflow-waiters';
import { describeRun, matchesRun, parsePage, parseRunFilter } from '../flow/workflow-logs';
import type { Run, Workflows } from '../flow/workflows';
import { HttpError, ok, type Reply } from './respond';
import { after, all, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';

/** Most runs one bulk call acts on when it gives no `count`. */
const DEFAULT_BULK_COUNT = 100;

/**
 * The Workflow endpoints, framework-free: a run's steps, its end, waits and notifies, the run
 * logs, bulk cancel and the Workflow dead-letter actions. Messages and dead letters are read
 * through `workflows.messages` (the log every server shares on Redis).
 */
export function workflowHandlers(
  controller: FlowController,
  workflows: Workflows,
  waiters: WorkflowWaiters,
) {
  const log = workflows.messages;

  /** Runs matching a bulk action's query (ids, filters, or all of them with `count`). */
  function selectRuns(q: URLSearchParams, only: (run: Run) => boolean): MaybePromise<Run[]> {
    const filter = parseRunFilter(q, ['count', 'cursor']);
    const { count, offset } = parsePage(q, DEFAULT_BULK_COUNT);
    return after(workflows.list(), (runs) =>
      runs.filter((run) => only(run) && matchesRun(run, filter)).slice(offset, offset + count),
    );
  }

  /** The runs of Workflow messages, by run id (absent: not a known run). */
  function runsOf(messages: readonly LoggedMessage[]): MaybePromise<Map<string, Run>> {
    const ids = new Set<string>();
    for (const m of messages) {
      const runId = m.payload.headers['upstash-workflow-runid'];
      if (runId !== undefined) ids.add(runId);
    }
    return after(all([...ids].map((id) => workflows.get(id))), (runs) => {
      const byId = new Map<string, Run>();
      for (const run of runs) if (run !== undefined) byId.set(run.id, run);
      return byId;
    });
  }

  const runOf = (m: LoggedMessage, runs: Map<string, Run>): Run | undefined => {
    const runId = m.payload.headers['upstash-workflow-runid'];
    return runId === undefined ? undefined : runs.get(runId);
  };

  function deadLetterOfRun(dlqId: string): MaybePromise<{ m: LoggedMessage; run: Run }> {
    return chain(log.deadLetter(dlqId), (m) => {
      if (m === undefined) throw new HttpError(404, `dead letter "${dlqId}" not found`);
      return after(runsOf([m]), (runs) => {
        const run = runOf(m, runs);
        if (run === undefined)
          throw new HttpError(400, `dead letter "${dlqId}" is not a step of a known workflow run`);
        return { m, run };
      });
    });
  }

  /**
   * The Workflow dead letters a DLQ action names: `dlqIds`, or a run filter (`workflowRunId`,
   * `workflowUrl`, `label`, `flowControlKey`, `fromDate`, `toDate`), or all of them (the client
   * sends only `count` for `{ all: true }`); at most `count` (default 100), from `cursor`.
   */
  function selectDeadLetters(
    q: URLSearchParams,
  ): MaybePromise<{ hits: LoggedMessage[]; cursor?: string }> {
    const ids = q.getAll('dlqIds');
    if (ids.length > 0) {
      for (const name of q.keys()) {
        if (name !== 'dlqIds' && name !== 'cursor')
          throw new HttpError(400, `dlqIds cannot be combined with "${name}"`);
      }
      return after(all(ids.map((id) => deadLetterOfRun(id))), (found) => ({
        hits: found.map((f) => f.m),
      }));
    }
    const filter = parseRunFilter(q, ['count', 'cursor']);
    const { count, offset } = parsePage(q, DEFAULT_BULK_COUNT);
    return chain(log.deadLetters(), (dead) => {
      const letters = [...dead];
      return after(runsOf(letters), (runs) => {
        const hits: LoggedMessage[] = [];
        let seen = 0;
        for (const m of letters) {
          const run = runOf(m, runs);
          if (run === undefined || !matchesRun(run, filter)) continue;
          if (seen++ < offset) continue;
          if (hits.length >= count) return { hits, cursor: String(offset + count) };
          hits.push(m);
        }
        return { hits };
      });
    });
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
    const { hits, cursor } = await selectDeadLetters(q);
    // Every one is checked before anything is published.
    const targets = await Promise.all(hits.map((m) => deadLetterOfRun(m.dlqId!)));
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
      await log.removeDeadLetter(m.dlqId!);
      workflowRuns.push({ workflowRunId: run.id, workflowCreatedAt: String(run.createdAt) });
    }
    return ok({ workflowRuns, ...(cursor !== undefined ? { cursor } : {}) });
  }

  return {
    /** `GET /v2/workflows/runs/{id}`: the run's raw steps (the SDK's lazy fetch). */
    steps(runId: string): MaybePromise<Reply> {
      return after(workflows.rawSteps(runId), ok);
    },

    /** `DELETE /v2/workflows/runs/{id}?cancel=…`: the run returned, or cancelled itself. */
    end(runId: string, q: URLSearchParams, body: string | undefined): MaybePromise<Reply> {
      return after(workflows.end(runId, q.get('cancel') === 'true', body, controller.now()), () =>
        ok(),
      );
    },

    /** `DELETE /v2/workflows/runs?…`: the runs named (ids or filters), at most `count`. */
    cancelMany(q: URLSearchParams): MaybePromise<Reply> {
      const runs = selectRuns(q, (run) => run.state === 'RUN_STARTED');
      const now = controller.now();
      return chain(runs, (list) =>
        after(all(list.map((run) => workflows.cancelRun(run.id, now))), (done) =>
          ok({ cancelled: done.filter(Boolean).length }),
        ),
      );
    },

    /** `GET /v2/workflows/events`: runs, newest first, with their steps. */
    logs(q: URLSearchParams): MaybePromise<Reply> {
      const groupBy = q.get('groupBy');
      if (groupBy !== null && groupBy !== 'workflowRunId')
        throw new HttpError(400, `groupBy must be workflowRunId, got "${groupBy}"`);
      const filter = parseRunFilter(q, ['count', 'cursor', 'groupBy']);
      const { count, offset } = parsePage(q, 10);
      return chain(workflows.list(), (runs) => {
        const matching = runs.filter((run) => matchesRun(run, filter)).reverse();
        const page = matching.slice(offset, offset + count);
        const next = offset + count < matching.length ? String(offset + count) : '';
        return after(all(page.map((run) => describeRun(run, workflows, log))), (described) =>
          ok({ cursor: next, runs: described }),
        );
      });
    },

    wait(eventId: string, headers: HeaderBag, body: string | undefined): MaybePromise<Reply> {
      return after(waiters.wait(eventId, headers, body), () => ok());
    },

    notify(eventId: string, body: string | undefined, runId?: string): MaybePromise<Reply> {
      return after(waiters.notify(eventId, body ?? '', runId), ok);
    },

    waiters(eventId: string): MaybePromise<Reply> {
      return after(waiters.waiters(eventId), ok);
    },

    dlqResume: (q: URLSearchParams, headers: HeaderBag) => revive('resume', q, headers),
    dlqRestart: (q: URLSearchParams, headers: HeaderBag) => revive('restart', q, headers),

    /** `POST /v2/workflows/dlq/callback/{dlqId}`: the failed run's failure callback, again. */
    dlqCallback(dlqId: string): MaybePromise<Reply> {
      return chain(deadLetterOfRun(dlqId), ({ run }) =>
        after(workflows.retryFailureCallback(run), () =>
          ok({ workflowRunId: run.id, workflowCreatedAt: String(run.createdAt) }),
        ),
      );
    },

    /** `DELETE /v2/workflows/dlq?…`: the dead letters named (ids, a filter, or all with `count`). */
    dlqDelete(q: URLSearchParams): MaybePromise<Reply> {
      return chain(selectDeadLetters(q), ({ hits, cursor }) =>
        after(all(hits.map((m) => log.removeDeadLetter(m.dlqId!))), (removed) =>
          ok({
            deleted: removed.filter(Boolean).length,
            ...(cursor !== undefined ? { cursor } : {}),
          }),
        ),
      );
    },

    /**
     * The run fields a dead letter of a Workflow run shows (the SDK's `PublicDLQMessage`), at once
     * (see `Workflows.peek`): from its run when this server knows it, else from the message's own
     * headers.
     */
    deadLetterFields(m: LoggedMessage): MaybePromise<Record<string, unknown> | undefined> {
      const runId = m.payload.headers['upstash-workflow-runid'];
      if (runId === undefined) return undefined;
      return after(workflows.get(runId), (run) => {
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
      });
    },
  };
}
