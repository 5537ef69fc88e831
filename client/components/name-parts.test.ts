import { describe, expect, it } from 'vitest';
import { matchRange, splitName } from './name-parts';

const text = (ps: { text: string; match: boolean }[]) =>
  ps.map((p) => (p.match ? `[${p.text}]` : p.text)).join('');

describe('matchRange', () => {
  it('finds the query in any case, trimmed', () => {
    expect(matchRange('Tenant-42', ' tenant ')).toEqual([0, 6]);
    expect(matchRange('tenant-42', 'x')).toBeNull();
    expect(matchRange('tenant-42', '  ')).toBeNull();
  });
});

describe('splitName', () => {
  it('keeps the last characters apart, so a cut falls in the middle', () => {
    const s = splitName('tenant-42-signup-emails');
    expect(text(s.head)).toBe('tenant-42-signu');
    expect(text(s.tail)).toBe('p-emails');
  });

  it('keeps a short name whole in the tail', () => {
    expect(splitName('demo')).toEqual({ head: [], tail: [{ text: 'demo', match: false }] });
  });

  it('marks the match at the start of the head', () => {
    const s = splitName('tenant-42-signup-emails', 'TENANT');
    expect(text(s.head)).toBe('[tenant]-42-signu');
    expect(text(s.tail)).toBe('p-emails');
  });

  it('moves a match near the end into the tail, whole', () => {
    const s = splitName('tenant-42-signup-emails', 'signup');
    expect(text(s.head)).toBe('tenant-42-');
    expect(text(s.tail)).toBe('[signup]-emails');
  });

  it('marks a long match across the cut in both parts', () => {
    const s = splitName('zz-abcdefghijklmnopqrstu-end', 'abcdefghijklmnopqrstu');
    expect(text(s.head)).toBe('zz-[abcdefghijklmnopq]');
    expect(text(s.tail)).toBe('[rstu]-end');
  });
});
