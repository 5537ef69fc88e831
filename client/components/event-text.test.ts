import { describe, expect, it } from 'vitest';
import { keyId, messageId, ms } from '../../shared/engine/units';
import { describeEntry } from './event-text';

const base = { seq: 1, at: ms(0), key: keyId('k') };

describe('describeEntry', () => {
  it('says what happened to which message, in words', () => {
    expect(
      describeEntry({
        ...base,
        type: 'token:handed-off',
        from: messageId('msg_a'),
        to: messageId('msg_b'),
        attempt: 0,
        waitedMs: ms(1500),
      }),
    ).toBe('msg_a → msg_b, waited 1.5 s');
    expect(
      describeEntry({
        ...base,
        type: 'message:waitlisted',
        messageId: messageId('msg_c'),
        reason: 'rate',
        position: 3,
      }),
    ).toBe('msg_c waits 3. for rate');
    expect(describeEntry({ type: 'snapshot', seq: 1, at: 0, key: '', keys: 4 })).toMatch(/4 keys/);
  });

  it('gives message ids whole, however long', () => {
    const id = messageId('msg_JXgNRzTMEl6x2PhxRJCm');
    expect(describeEntry({ ...base, type: 'message:delivered', messageId: id })).toBe(
      'msg_JXgNRzTMEl6x2PhxRJCm delivered',
    );
  });

  it('names the Workflow step an accepted message is', () => {
    const accepted = { ...base, type: 'message:accepted' as const, messageId: messageId('msg_a') };
    expect(describeEntry(accepted)).toBe('msg_a accepted');
    expect(
      describeEntry({
        ...accepted,
        workflow: { runId: 'wfr_abcdefghijklmnopqrstu', step: 'send-email' },
      }),
    ).toBe('msg_a accepted, step send-email of run wfr_abcdefghijklmnopqrstu');
  });
});
