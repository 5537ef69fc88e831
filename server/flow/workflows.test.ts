/**
 * Workflow runs and waiters on records two servers share (here: one set of memory records behind
 * two `Workflows`, and two `WorkflowWaiters` told the records are shared so they poll them): a
 * transition both servers follow is made once, a step appended on either is kept, and a waiter's
 * timeout armed on both fires once.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, type MessageId, type Millis } from '../../shared/engine/units';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import { MemoryRecords, type Records } from '../store/records';
import { MessageLog } from './message-log';
import { WorkflowWaiters } from './workflow-waiters';
import { Workflows, type Run } from './workflows';
import { manualTime } from '../test/manual-time';

const URL = 'http://127.0.0.1:9/wf';
const RUN = 'wfr_shared';

/** Memory records that say they are shared, so waiters poll them as on Redis. */
function sharedRecords(): Records {
  const memory = new MemoryRecords();
  return { kind: 'redis', collection: (name, codec) => memory.collection(name, codec), close() {} };
}

function servers(records: Records) {
  const time = manualTime(1_000);
  const published: ParsedPublish[] = [];
  let next = 0;
  const publish = () => (parsed: ParsedPublish) => {
    published.push(parsed);
    return { messageId: messageId(`msg_published-${++next}`) };
  };
  const make = () => {
    const workflows = new Workflows({
      messages: new MessageLog(),
      records,
      clock: time.clock,
      cancel: () => {},
      publish,
    });
    const ended: Run[] = [];
    workflows.onRunEnded((run) => void ended.push(run));
    const waiters = new WorkflowWaiters({
      workflows,
      clock: time.clock,
      timers: time.timers,
      records,
      publish,
      pollMs: 100,
    });
    return { workflows, waiters, ended };
  };
  return { time, published, a: make(), b: make() };
}

/** Publishes through `workflows` as the Publisher does: admit, then commit under `id`. */
function accept(workflows: Workflows, id: string, headers: HeaderBag, body?: string): MessageId {
  const admission = workflows.admit(parsePublish(URL, headers, body, 1_000 as Millis));
  if (admission instanceof Promise || admission.kind !== 'publish') throw new Error('not admitted');
  expect(admission.commit(messageId(id), 1_000 as Millis)).toBeNull();
  return messageId(id);
}

const trigger = (w: Workflows) =>
  accept(w, 'msg_trigger', { 'upstash-workflow-runid': RUN, 'upstash-workflow-init': 'true' });
const step = (w: Workflows, id: string, name: string) =>
  accept(
    w,
    id,
    { 'upstash-workflow-runid': RUN },
    JSON.stringify({ stepId: 1, stepName: name, stepType: 'Run', concurrent: 1, out: '"x"' }),
  );

const end = (type: 'message:delivered' | 'message:dead-lettered', id: MessageId, seq: number) =>
  ({
    type,
    messageId: id,
    seq,
    at: 2_000 as Millis,
    key: keyId('k'),
    ...(type === 'message:dead-lettered' ? { reason: 'status 500' } : {}),
  }) as EngineEvent;

const runOf = (w: Workflows) => w.get(RUN) as Run;

describe('workflow runs on shared records', () => {
  it('keeps the steps appended on either server, in order', () => {
    const { a, b } = servers(new MemoryRecords());
    trigger(a.workflows);
    step(b.workflows, 'msg_one', 'one');
    step(a.workflows, 'msg_two', 'two');
    expect(runOf(a.workflows).steps.map((s) => s.raw.messageId)).toEqual([
      'msg_trigger',
      'msg_one',
      'msg_two',
    ]);
    // The second server delivers a call of the first's with every step before it.
    const payload = b.workflows.payloadFor(messageId('msg_two'), {
      destination: URL,
      method: 'POST',
      headers: { 'upstash-workflow-runid': RUN },
    });
    const raws = JSON.parse(new TextDecoder().decode((payload as { body: Uint8Array }).body));
    expect(raws.map((r: { messageId: string }) => r.messageId)).toEqual([
      'msg_trigger',
      'msg_one',
      'msg_two',
    ]);
  });

  it('fails a run once when both servers follow the end that fails it', () => {
    const { a, b } = servers(new MemoryRecords());
    trigger(a.workflows);
    const one = step(b.workflows, 'msg_one', 'one');
    const events = [end('message:delivered', messageId('msg_trigger'), 1)];
    a.workflows.apply(events);
    b.workflows.apply(events);
    const failed = [end('message:dead-lettered', one, 2)];
    b.workflows.apply(failed);
    a.workflows.apply(failed);
    const run = runOf(a.workflows);
    expect(run).toMatchObject({ state: 'RUN_FAILED', dlqId: 'dlq_one', live: [] });
    expect(run.failed).toMatchObject({ messageId: 'msg_one', index: 1 });
    expect([...a.ended, ...b.ended].map((r) => r.id)).toEqual([RUN]);
  });

  it('refuses a step for a run another server ended, and ends it only once', () => {
    const { a, b } = servers(new MemoryRecords());
    trigger(a.workflows);
    b.workflows.end(RUN, false, '"done"', 3_000 as Millis);
    expect(() => a.workflows.end(RUN, true, undefined, 3_000 as Millis)).toThrow(/has ended/);
    expect(b.workflows.cancelRun(RUN, 3_000 as Millis)).toBe(false);
    expect(() => step(a.workflows, 'msg_late', 'late')).toThrow(/has ended/);
    expect(runOf(b.workflows)).toMatchObject({ state: 'RUN_SUCCESS', response: '"done"' });
    expect(b.ended).toHaveLength(1);
    expect(a.ended).toHaveLength(0);
  });
});

describe('workflow waiters on shared records', () => {
  const wait = (w: WorkflowWaiters, eventId: string, timeout: string) =>
    w.wait(
      eventId,
      { 'upstash-workflow-runid': RUN, authorization: 'Bearer secret' },
      JSON.stringify({
        url: URL,
        timeout,
        step: { stepId: 2, stepName: 'wait', stepType: 'Wait', concurrent: 1 },
      }),
    );

  it('times a waiter out once though both servers armed its timeout, and keeps no token', () => {
    const records = sharedRecords();
    const { a, b, time, published } = servers(records);
    trigger(a.workflows);
    wait(a.waiters, 'never', '10s');
    // b arms it at its next poll.
    time.advance(1_500);
    expect(time.armed().filter((at) => at === 11_000)).toHaveLength(2);
    expect(JSON.stringify(b.waiters.waiters('never'))).not.toContain('secret');
    time.advance(12_000);
    const timeouts = published.filter((p) =>
      new TextDecoder().decode(p.payload.body).includes('"waitTimeout":true'),
    );
    expect(timeouts).toHaveLength(1);
    expect(b.waiters.waiters('never')).toEqual([]);
  });

  it('wakes a waiter of one server with a notify through the other, once', () => {
    const { a, b, published } = servers(sharedRecords());
    trigger(a.workflows);
    wait(a.waiters, 'paid', '1h');
    expect(b.waiters.notify('paid', '42')).toMatchObject([{ messageId: 'msg_published-1' }]);
    expect(a.waiters.notify('paid', '43')).toEqual([]);
    expect(published).toHaveLength(1);
  });

  it('keeps a notify for a run that waits later, on whichever server it waits', () => {
    const { a, b, published } = servers(sharedRecords());
    trigger(a.workflows);
    expect(b.waiters.notify('early', 'first!', RUN)).toEqual([]);
    wait(a.waiters, 'early', '1h');
    expect(published).toHaveLength(1);
    expect(a.waiters.waiters('early')).toEqual([]);
  });

  it('drops the waiters of a run that ends, for every server', () => {
    const { a, b, time, published } = servers(sharedRecords());
    trigger(a.workflows);
    wait(a.waiters, 'never', '10s');
    time.advance(1_500);
    b.workflows.cancelRun(RUN, 1_500 as Millis);
    expect(a.waiters.waiters('never')).toEqual([]);
    time.advance(20_000);
    expect(published).toHaveLength(0);
    expect(time.armed().filter((at) => at === 11_000)).toHaveLength(0);
  });
});
