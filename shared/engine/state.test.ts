import { describe, expect, it } from 'vitest';
import { ActiveList, KeyState, MessageRecord } from './state';
import { keyId, messageId, ms } from './units';

describe('ActiveList', () => {
  const key = new KeyState(keyId('k'), {}, ms(0));
  const record = (id: string) =>
    new MessageRecord(messageId(id), key, 3, 'in-flight', null, undefined);
  const ids = (l: ActiveList) => [...l].map((m) => m.id);

  it('keeps start order through removals at the head, the middle and the tail', () => {
    const l = new ActiveList();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(record) as [
      MessageRecord,
      MessageRecord,
      MessageRecord,
      MessageRecord,
    ];
    for (const m of [a, b, c, d]) l.add(m);
    expect(ids(l)).toEqual(['a', 'b', 'c', 'd']);
    l.delete(b);
    expect(ids(l)).toEqual(['a', 'c', 'd']);
    l.delete(a);
    expect(ids(l)).toEqual(['c', 'd']);
    l.delete(d);
    expect(ids(l)).toEqual(['c']);
    l.add(a);
    expect(ids(l)).toEqual(['c', 'a']);
    l.delete(c);
    l.delete(a);
    expect(ids(l)).toEqual([]);
    // A removed record holds no links into the list.
    expect([a.prevActive, a.nextActive, b.prevActive, b.nextActive]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });
});
