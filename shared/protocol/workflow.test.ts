import { describe, expect, it } from 'vitest';
import { InvalidRequest } from './invalid-request';
import { fromBase64, parseCallType, parseStep, parseWaitRequest, toBase64 } from './workflow';

describe('the Workflow wire format', () => {
  it('reads a step the SDK published, and keeps its extra fields', () => {
    const step = parseStep(
      JSON.stringify({
        stepId: 2,
        stepName: 'send',
        stepType: 'Run',
        concurrent: 1,
        out: '"ok"',
        extra: 1,
      }),
    );
    expect(step).toMatchObject({
      stepId: 2,
      stepName: 'send',
      stepType: 'Run',
      out: '"ok"',
      extra: 1,
    });
  });

  it.each([
    '',
    'nope',
    '[]',
    '{"stepId":-1,"stepName":"a","stepType":"Run","concurrent":1}',
    '{"stepId":1,"stepName":"","stepType":"Run","concurrent":1}',
  ])('refuses the step body %j', (raw) => expect(() => parseStep(raw)).toThrow(InvalidRequest));

  it('reads call types case-insensitively and refuses unknown ones', () => {
    expect(parseCallType(undefined)).toBe('step');
    expect(parseCallType('toCallback')).toBe('toCallback');
    expect(parseCallType('failurecall')).toBe('failureCall');
    expect(() => parseCallType('sideways')).toThrow(InvalidRequest);
  });

  it('refuses a wait whose url is not absolute', () => {
    const step = { stepId: 1, stepName: 'w', stepType: 'Wait', concurrent: 1 };
    expect(() => parseWaitRequest(JSON.stringify({ url: '/wf', step }))).toThrow(/absolute/);
    expect(
      parseWaitRequest(JSON.stringify({ url: 'http://a/wf', timeout: '1m', step })),
    ).toMatchObject({
      timeout: '1m',
    });
  });

  it('base64 round-trips UTF-8 text, as the SDK decodes it', () => {
    const text = 'café ☕ '.repeat(10_000);
    expect(fromBase64(toBase64(text))).toBe(text);
    expect(toBase64('café')).toBe(Buffer.from('café').toString('base64'));
  });
});
