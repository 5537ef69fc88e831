import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * Proves the dependency direction in eslint.config.js holds: each forbidden import is reported by
 * the real lint configuration, and each allowed one is not. Lint runs on code given as text, under
 * a path in the folder being checked, so no file has to exist.
 */
const eslint = new ESLint();

async function restrictedImports(filePath: string, from: string): Promise<string[]> {
  const code = `import { thing } from '${from}';\nexport const value = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

describe('dependency direction', () => {
  it.each([
    ['shared/engine/x.ts', '../../server/app', 'shared/ imports nothing of ours'],
    ['shared/x.ts', '../client/App', 'shared/ imports nothing of ours'],
    [
      'client/store/x.ts',
      '../../server/flow/controller',
      'client may import shared/, never server/',
    ],
    ['client/x.tsx', '../e2e/helpers', 'client may import shared/, never server/'],
    [
      'server/http/x.ts',
      '../../client/store/app-store',
      'server may import shared/, never client/',
    ],
    ['server/flow/x.ts', '../http/respond', 'never a transport (http/, realtime/)'],
    ['server/delivery/x.ts', '../realtime/stream', 'never a transport (http/, realtime/)'],
    ['server/flow/x.ts', '../../client/App', 'never a transport (http/, realtime/)'],
    ['e2e/x.spec.ts', '../shared/events', 'e2e treats the app as a black box'],
    ['e2e/x.spec.ts', '../server/app', 'e2e treats the app as a black box'],
  ])('forbids %s importing %s', async (file, from, why) => {
    const messages = await restrictedImports(file, from);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(why);
  });

  it.each([
    ['server/realtime/x.ts', '../../shared/events'],
    ['client/store/x.ts', '../../shared/engine/units'],
    ['shared/engine/x.ts', '../protocol/duration'],
    ['server/http/x.ts', '../flow/controller'],
    ['server/flow/x.ts', '../delivery/simulated'],
    ['server/delivery/x.ts', 'node:http'],
    ['client/components/X.tsx', '../store/app-store'],
    ['e2e/x.spec.ts', '@playwright/test'],
  ])('allows %s importing %s', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([]);
  });
});
