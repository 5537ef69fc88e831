import { describe, expect, it } from 'vitest';
import { InvalidRequest } from './invalid-request';
import { parsePublish } from './publish';
import { ms } from '../engine/units';

const NOW = ms(Date.UTC(2026, 10, 26));

describe('parsePublish', () => {
  it('reads flow control, retries, delay and the payload to deliver', () => {
    const p = parsePublish(
      'https://example.com/hook?x=1',
      {
        'upstash-flow-control-key': 'signup',
        'upstash-flow-control-value': 'parallelism=2, rate=10, period=1m',
        'upstash-retries': '1',
        'upstash-delay': '30s',
        'upstash-method': 'put',
        'upstash-forward-authorization': 'Bearer t',
        'upstash-workflow-runid': 'wfr_1',
        'content-type': 'application/json',
        'x-not-forwarded': 'no',
      },
      '{"a":1}',
      NOW,
    );
    expect(p.input).toEqual({
      key: 'signup',
      config: { parallelism: 2, rate: 10, periodMs: 60_000 },
      retries: 1,
      notBefore: NOW + 30_000,
    });
    expect(p.payload).toEqual({
      destination: 'https://example.com/hook?x=1',
      method: 'PUT',
      headers: {
        authorization: 'Bearer t',
        'upstash-workflow-runid': 'wfr_1',
        'content-type': 'application/json',
      },
      body: new TextEncoder().encode('{"a":1}'),
    });
    expect(p.workflow).toEqual({ runId: 'wfr_1', init: false, callType: 'step', invoke: false });
  });

  it('accepts a simulated destination', () => {
    const p = parsePublish('sim://work?duration=800ms&fail=0.1', {}, undefined, NOW);
    expect(p.payload.destination).toBe('sim://work?duration=800ms&fail=0.1');
    expect(p.input).toEqual({});
  });

  it.each([
    ['ftp://example.com', {}, /must use http, https or sim/],
    ['sim://work?fail=2', {}, /fail must be a probability/],
    ['https://a.b', { 'upstash-flow-control-value': 'parallelism=2' }, /without .*-Key/],
    [
      'https://a.b',
      { 'upstash-flow-control-key': 'k', 'upstash-flow-control-value': 'parallelism=0' },
      /parallelism/,
    ],
    ['https://a.b', { 'upstash-retries': 'many' }, /Upstash-Retries/],
    ['https://a.b', { 'upstash-retry-delay': 'process.exit()' }, /./],
    ['https://a.b', { 'upstash-timeout': '3h' }, /Upstash-Timeout/],
    ['https://a.b', { 'upstash-method': 'TRACE' }, /Upstash-Method/],
    ['https://a.b', { 'upstash-callback': 'nope' }, /not an absolute URL/],
  ])('refuses %s with %o as an invalid request', (destination, headers, message) => {
    const attempt = () => parsePublish(destination, headers, undefined, NOW);
    expect(attempt).toThrow(InvalidRequest);
    expect(attempt).toThrow(message);
  });
});
