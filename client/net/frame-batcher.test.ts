import { describe, expect, it } from 'vitest';
import { createFrameBatcher, type FrameScheduler } from './frame-batcher';

/** A scheduler whose frames the test fires by hand. */
function manualFrames() {
  const waiting: Array<() => void> = [];
  const scheduler: FrameScheduler = {
    request(run) {
      waiting.push(run);
      return () => waiting.splice(waiting.indexOf(run), 1);
    },
  };
  return { scheduler, waiting, frame: () => waiting.splice(0).forEach((run) => run()) };
}

describe('createFrameBatcher', () => {
  it('hands everything received between two frames over in one call', () => {
    const frames = manualFrames();
    const flushed: number[][] = [];
    const b = createFrameBatcher<number>((xs) => flushed.push(xs), frames.scheduler);
    b.push([1, 2]);
    b.push([3]);
    expect(frames.waiting).toHaveLength(1);
    expect(b.pending).toBe(3);
    frames.frame();
    expect(flushed).toEqual([[1, 2, 3]]);
    b.push([4]);
    frames.frame();
    expect(flushed).toEqual([[1, 2, 3], [4]]);
  });

  it('drops the queue when cleared and asks for no frame it does not need', () => {
    const frames = manualFrames();
    const flushed: number[][] = [];
    const b = createFrameBatcher<number>((xs) => flushed.push(xs), frames.scheduler);
    b.push([1]);
    b.clear();
    expect(frames.waiting).toHaveLength(0);
    frames.frame();
    expect(flushed).toEqual([]);
  });
});
