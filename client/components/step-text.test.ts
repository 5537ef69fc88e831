import { describe, expect, it } from 'vitest';
import { cutEnd, cutMiddle, stepCaption, stepLabel, stepPhrase, stepTitle } from './step-text';

const tag = { runId: 'wfr_abcdefghijklmnopqrstu', step: 'send-welcome-email' };

describe('cutMiddle', () => {
  it('keeps an id that fits whole', () => {
    expect(cutMiddle('wfr_abc123')).toBe('wfr_abc123');
  });

  it('cuts a long id in the middle, keeping its prefix and its end', () => {
    expect(cutMiddle(tag.runId)).toBe('wfr_abc…stu');
    expect(cutMiddle(tag.runId)).toHaveLength(11);
    expect(cutMiddle('abcdefghij', 7)).toBe('abcd…ij');
  });
});

describe('cutEnd', () => {
  it('cuts a long name at the end', () => {
    expect(cutEnd('init')).toBe('init');
    expect(cutEnd('send-welcome-email')).toBe('send-welcome-…');
    expect(cutEnd('send-welcome-email')).toHaveLength(14);
  });
});

describe('naming a step', () => {
  it('captions it with the step, then the run, both cut to fit', () => {
    expect(stepCaption(tag)).toEqual(['send-welcome-…', 'wfr_abc…stu']);
  });

  it('labels it on one line with the run cut', () => {
    expect(stepLabel({ runId: tag.runId, step: 'send-email' })).toBe('wfr_abc…stu · send-email');
  });

  it('keeps ids whole in tooltips and accessible names', () => {
    expect(stepTitle({ runId: 'wfr_abc123', step: 'send-email' })).toBe(
      'Workflow run wfr_abc123, step send-email',
    );
    expect(stepPhrase({ runId: tag.runId, step: 'init' })).toBe(`step init of run ${tag.runId}`);
  });
});
