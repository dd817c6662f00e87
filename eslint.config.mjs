// Lint rules, including the architecture's import boundaries (docs/ARCHITECTURE.md):
// src/core and src/engine never import vscode; the webview imports only the shared protocol.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'Only src/vscode and src/extension.ts may import vscode.' };

/** Files matching `files` may not import from the named folders of src/ (nor vscode). */
function layer(files, forbidden) {
  return {
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: forbidden.map((f) => ({ regex: `^(\\.\\./)+${f}(/|$)`, message: `${files.replace('/**', '')} may not import src/${f} (docs/ARCHITECTURE.md, layers).` })),
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', 'test-output/**', 'resources/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  // One rule per layer, as in the table of docs/ARCHITECTURE.md: a layer imports only the layers
  // below it (node's modules and packages aside).
  layer('src/protocol/**', ['core', 'engine', 'backend', 'app', 'cli', 'vscode', 'stats']),
  layer('src/core/**', ['engine', 'backend', 'app', 'cli', 'vscode']),
  layer('src/engine/**', ['core', 'backend', 'app', 'cli', 'vscode']),
  layer('src/backend/**', ['core', 'app', 'cli', 'vscode']),
  layer('src/app/**', ['cli', 'vscode']),
  layer('src/cli/**', ['vscode']),
  {
    // The statistics every layer shares stand on nothing but the language.
    files: ['src/stats/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode], patterns: [{ regex: '^(\\.\\./|node:)', message: 'src/stats imports nothing outside itself.' }] }] },
  },
  {
    files: ['webview/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: [
            { regex: '^(\\.\\./)+src/(?!protocol/webviewMessages$)', message: 'The webview imports only src/protocol/webviewMessages.' },
            { regex: '^node:', message: 'The webview runs in a browser.' },
          ],
        },
      ],
    },
  },
  {
    // The test peer of the Python extension is a plain CommonJS extension, as VS Code loads it.
    files: ['test/fixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
