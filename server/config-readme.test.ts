import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from './config';

/** The README's configuration table, row by row: `flag → [environment, default]`. */
function readmeTable(): Map<string, [string, string]> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const rows = new Map<string, [string, string]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const flag = /^`--([a-z-]+)`$/.exec(cells[1] ?? '')?.[1];
    if (flag !== undefined) rows.set(flag, [cells[2] ?? '', cells[3] ?? '']);
  }
  return rows;
}

describe("the README's configuration table", () => {
  it('lists every setting of server/config.ts, with its environment variable and default', () => {
    const table = readmeTable();
    expect([...table.keys()].sort()).toEqual(SETTINGS.map((s) => s.flag).sort());
    for (const s of SETTINGS) {
      const [env, def] = table.get(s.flag)!;
      expect(env, `--${s.flag}`).toBe(`\`${s.env}\``);
      if (s.default !== '') expect(def, `--${s.flag}`).toBe(`\`${s.default}\``);
    }
  });
});
