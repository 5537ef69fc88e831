import { describe, expect, it } from 'vitest';
import type { KeyView } from './flow-types';
import type { AppState } from './app-store';
import { busiestKeys, keySteps, selectKeyCounts } from './selectors';

const key = (name: string, inFlight: number, waitListSize: number) =>
  ({ key: name, inFlight, waitListSize }) as unknown as KeyView;

describe('the keys followed before the page has seen any activity', () => {
  it('are the busiest keys of the snapshot, idle keys left out', () => {
    const keys = { a: key('a', 0, 0), b: key('b', 2, 5), c: key('c', 1, 0), d: key('d', 3, 9) };
    expect(busiestKeys(keys, 2)).toEqual(['d', 'b']);
    expect(busiestKeys({ a: key('a', 0, 0) }, 3)).toEqual([]);
  });
});

describe('the Workflow steps of a key', () => {
  it('are those of its active and listed waiting messages', () => {
    const k = {
      active: [{ messageId: 'a' }, { messageId: 'b' }],
      waiting: [{ messageId: 'c' }],
    } as unknown as KeyView;
    const init = { runId: 'wfr_1', step: 'init' };
    const later = { runId: 'wfr_2', step: 'later' };
    expect(keySteps(k, { a: init, c: later, elsewhere: init })).toEqual({ a: init, c: later });
    expect(keySteps(undefined, { a: init })).toEqual({});
  });
});

describe("a key's counts, as its charts show them", () => {
  const state = (keys: Record<string, KeyView>) => ({ flow: { keys } }) as unknown as AppState;

  it('are the counts its header shows: in flight, the limit, waiting', () => {
    const k = { ...key('a', 2, 7), parallelism: 3 } as KeyView;
    expect(selectKeyCounts('a')(state({ a: k }))).toEqual({ inFlight: 2, limit: 3, waiting: 7 });
    expect(selectKeyCounts('a')(state({ a: { ...k, parallelism: null } }))?.limit).toBeNull();
  });

  it('are undefined for a key the page does not hold', () => {
    expect(selectKeyCounts('gone')(state({}))).toBeUndefined();
  });
});
