/**
 * Every `FlowStore` implementation runs the contract suite: a store added without its
 * `*.contract.test.ts` (or with one that stopped calling `runStoreContract`) fails here, so a
 * store's run can never go missing silently.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const storeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sources(): { file: string; text: string }[] {
  return readdirSync(storeDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f, text: readFileSync(path.join(storeDir, f), 'utf8') }));
}

describe('the store contract', () => {
  const files = sources();
  const stores = files
    .filter((f) => !f.file.endsWith('.test.ts'))
    .flatMap((f) => [...f.text.matchAll(/export class (\w+)[^{]*\bimplements FlowStore\b/g)])
    .map((m) => m[1] as string);
  const contracts = files.filter((f) => f.file.endsWith('.contract.test.ts'));

  it('finds the stores', () => {
    expect(stores).toContain('MemoryStore');
  });

  it.each(stores)('runs against %s', (store) => {
    const runs = contracts.filter(
      (f) => f.text.includes('runStoreContract(') && new RegExp(`\\b${store}\\b`).test(f.text),
    );
    expect(
      runs.map((f) => f.file),
      `a *.contract.test.ts under server/store/ calling runStoreContract with ${store}`,
    ).not.toEqual([]);
  });
});
