// @ts-check
/**
 * ESLint: typescript-eslint's recommended rules, plus the rule that keeps Reprise's core runnable on Workers.
 *
 * Everything under src/ is Web-standard unless it is one of the Node adapters listed in NODE_ADAPTERS. The core may
 * import neither a Node builtin, nor a Node-only package, nor an adapter, so nothing it reaches can be Node-only.
 * Type-only imports are erased at build and stay allowed.
 */
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The files that may use Node: the entries and the adapters the entries inject. */
export const NODE_ADAPTERS = [
  'src/main.ts',
  'src/calibrate.ts',
  'src/node/**',
  'src/embed/load.ts',
  'src/embed/transformers.ts',
  'src/embed/use-lite.ts',
  'src/embed/use-lite-thread.ts',
  'src/store/hnsw-index.ts',
  'src/store/redis*.ts',
  'src/upstream/undici.ts',
  // node:crypto's createHash, which Workers provide under nodejs_compat (wrangler.toml)
  'src/worker/native-hash.ts',
];

const NODE_ONLY_PACKAGES = ['undici', 'ioredis', 'pino', 'pino-pretty', 'usearch', '@huggingface/transformers', '@hono/node-server'];

/** Node's builtins by bare name; `node:*` is caught by the pattern below. */
const NODE_BUILTINS = [
  'assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'http2', 'https', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'stream/web',
  'string_decoder', 'timers', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

const why = 'the core runs on Workers too: inject Node-only parts from an entry (see NODE_ADAPTERS in eslint.config.js)';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.wrangler/**', 'bench/.cache/**', 'test/artifacts/**', '.models/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // `_name` marks a parameter an interface requires but this implementation does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Empty functions are deliberate no-ops (a silent logger, an ignored rejection).
      '@typescript-eslint/no-empty-function': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: NODE_ADAPTERS,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...NODE_ONLY_PACKAGES, ...NODE_BUILTINS].map((name) => ({ name, message: why, allowTypeImports: true })),
          patterns: [
            { group: ['node:*'], message: why, allowTypeImports: true },
            { group: ['@energetic-ai/*', '@huggingface/*'], message: why, allowTypeImports: true },
            {
              group: [
                '**/node/*',
                '**/main.js',
                '**/calibrate.js',
                '**/embed/load.js',
                '**/embed/transformers.js',
                '**/embed/use-lite.js',
                '**/embed/use-lite-thread.js',
                '**/store/hnsw-index.js',
                '**/store/redis*.js',
                '**/upstream/undici.js',
              ],
              message: `an adapter is Node-only: ${why}`,
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Tests, benches and config run on Node only.
    files: ['test/**', 'bench/**', '*.config.*', '*.js', '*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // Benches read and write loosely shaped result JSON; typing every report row buys nothing there.
    files: ['bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
