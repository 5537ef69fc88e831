import { describe, expect, it } from 'vitest';
import { engineHarness } from './engine-harness';
import {
  ARRIVAL_MS,
  FOLLOW_HOLD_MS,
  FOLLOWED_KEYS,
  followedKeys,
  initialActivity,
  recordActivity,
} from './activity';

describe('recordActivity', () => {
  it('remembers the latest refused arrival of each key, and forgets it after a while', () => {
    const h = engineHarness();
    h.publish('k', 1);
    const a = recordActivity(initialActivity, h.publish('k', 1), 1000);
    expect(a.arrivals.k).toMatchObject({ messageId: 'msg_2', reason: 'parallelism', position: 1 });
    expect(a.frame).toBe(1);
    const later = recordActivity(a, h.publish('other', 1), 1000 + ARRIVAL_MS + 1);
    expect(later.arrivals.k).toBeUndefined();
  });

  it('moves a playing sketch to the newest refusal instead of starting it over', () => {
    const h = engineHarness();
    h.publish('k', 1);
    const a = recordActivity(initialActivity, h.publish('k', 1), 1000);
    const b = recordActivity(a, h.publish('k', 1), 1500);
    expect(b.arrivals.k).toMatchObject({ messageId: 'msg_3', position: 2, receivedAt: 1000 });
    const c = recordActivity(b, h.publish('k', 1), 1000 + ARRIVAL_MS + 1);
    expect(c.arrivals.k).toMatchObject({ messageId: 'msg_4', position: 3, receivedAt: 3001 });
  });

  it('follows the keys that took messages, each keeping its place', () => {
    const h = engineHarness();
    let a = initialActivity;
    for (const key of ['a', 'b', 'a', 'c']) a = recordActivity(a, h.publish(key, 1), 0);
    expect(a.recentKeys).toEqual(['a', 'b', 'c']);
    a = recordActivity(a, h.publish('b', 1), 500);
    a = recordActivity(a, h.publish('d', 1), FOLLOW_HOLD_MS);
    expect(a.recentKeys).toHaveLength(FOLLOWED_KEYS);
    // d takes the place of the key in view longest (a, b and c came together: the first).
    expect(a.recentKeys).toEqual(['d', 'b', 'c']);
  });

  it('holds each followed key in view for a while, however many other keys are busy', () => {
    const h = engineHarness();
    let a = initialActivity;
    for (const key of ['a', 'b', 'c']) a = recordActivity(a, h.publish(key, 1), 1000);
    for (let t = 1000; t < 1000 + FOLLOW_HOLD_MS; t += 100) {
      a = recordActivity(a, h.publish(`busy-${t}`, 1), t);
      expect(a.recentKeys).toEqual(['a', 'b', 'c']);
    }
    a = recordActivity(a, h.publish('x', 1), 1000 + FOLLOW_HOLD_MS);
    a = recordActivity(a, h.publish('y', 1), 1000 + FOLLOW_HOLD_MS);
    expect(a.recentKeys).toEqual(['x', 'y', 'c']);
    // x and y just came into view; c gives way next.
    a = recordActivity(a, h.publish('z', 1), 1000 + FOLLOW_HOLD_MS + 1);
    expect(a.recentKeys).toEqual(['x', 'y', 'z']);
  });

  it('keeps the same objects when a frame changes nothing they hold', () => {
    const h = engineHarness();
    const a = recordActivity(initialActivity, h.publish('k', 5), 0);
    const b = recordActivity(a, h.publish('k', 5), 0);
    expect(b.recentKeys).toBe(a.recentKeys);
    expect(b.arrivals).toBe(a.arrivals);
  });
});

describe('followedKeys', () => {
  it('follows what a page open all along follows: the latest active keys, held in view a while', () => {
    const h = engineHarness();
    const events = [
      ...h.publish('a', 1),
      ...h.publish('b', 1),
      ...h.publish('c', 1),
      ...h.advance(FOLLOW_HOLD_MS + 1),
      ...h.publish('d', 1),
      ...h.publish('e', 1),
    ];
    const followed = followedKeys(events, 0);
    expect(FOLLOWED_KEYS).toBe(3);
    // d and e take the places held longest, each at the time it took messages; c stays.
    expect(followed.recentKeys).toEqual(['d', 'e', 'c']);
    expect(followed.recentSince).toEqual([
      events.find((e) => e.key === 'd')!.at,
      events.find((e) => e.key === 'e')!.at,
      events[0]!.at,
    ]);
  });
});
