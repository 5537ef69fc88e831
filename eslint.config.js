// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/**
 * The dependency direction of the style guide, enforced here so it holds without anyone
 * remembering it: shared imports nothing of ours; server and client import shared, never each
 * other; inside the server, flow control and delivery never reach for a transport (http/,
 * realtime/), which sit on top of them; e2e treats the app as a black box.
 * `scripts/dependency-rules.test.ts` proves each rule fires.
 */
const forbid = (/** @type {string[]} */ folders, /** @type {string} */ why) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: folders.map((f) => ({
        group: [`**/${f}`, `**/${f}/**`],
        message: why,
      })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'test-results', 'playwright-report', '.test-output'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['client/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...forbid(
        ['server', 'e2e', 'bench'],
        'client may import shared/, never server/, e2e/ or bench/',
      ),
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: forbid(
      ['server', 'client', 'e2e', 'bench', 'scripts'],
      'shared/ imports nothing of ours',
    ),
  },
  {
    files: ['server/**/*.ts'],
    rules: forbid(
      ['client', 'e2e', 'bench'],
      'server may import shared/, never client/, e2e/ or bench/',
    ),
  },
  {
    // A later block replaces the rule for these files, so it repeats the server-wide folders.
    files: ['server/flow/**/*.ts', 'server/delivery/**/*.ts'],
    rules: forbid(
      ['client', 'e2e', 'bench', 'http', 'realtime'],
      'server/flow and server/delivery import shared/ and each other, never a transport (http/, realtime/)',
    ),
  },
  {
    files: ['e2e/**/*.ts'],
    rules: forbid(['server', 'client', 'shared', 'bench'], 'e2e treats the app as a black box'),
  },
);
