// One ESLint flat config for the whole repository (type-aware), see STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** Node built-in modules, by bare name; `node:*` is caught by a pattern. */
const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'timers/promises',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/** What a pure, deterministic module may not import: I/O, clocks and the network. */
const impureImports = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Pure code has no I/O: pass what you need in.' })),
  patterns: [
    { group: ['node:*'], message: 'Pure code has no I/O: pass what you need in.' },
    {
      group: ['level', 'classic-level', 'abstract-level'],
      message: 'Storage belongs to the runtime, not the pure core.',
    },
    {
      group: ['@grpc/*', 'protobufjs', 'protobufjs/*'],
      message: 'The network belongs to the runtime, not the pure core.',
    },
  ],
};

/** Which sibling packages each package may import (DESIGN.md: dependencies point one way). */
const allowedSiblings = {
  raft: [],
  'leadership-fsm': [],
  certs: [],
  'client-sdk': [],
  cli: ['certs', 'client-sdk', 'snapshot-file'],
  server: ['raft', 'leadership-fsm', 'certs', 'snapshot-file'],
  'snapshot-file': [],
};
const allPackages = Object.keys(allowedSiblings);

/** Which raft layers each raft layer may import (core ← storage, transport ← node). */
const raftLayerForbids = {
  core: ['storage', 'transport', 'node'],
  storage: ['transport', 'node'],
  transport: ['storage', 'node'],
  node: [],
};

function restrictedImports(pkg, { pure = false, rawLayer = null } = {}) {
  const forbidden = allPackages.filter((p) => p !== pkg && !allowedSiblings[pkg].includes(p));
  const patterns = [
    { group: ['@omnirelay/*/*'], message: 'No deep imports: use the package entry point (src/index.ts).' },
  ];
  if (forbidden.length > 0) {
    patterns.push({
      group: forbidden.map((p) => `@omnirelay/${p}`),
      message: `@omnirelay/${pkg} may import only: ${allowedSiblings[pkg].join(', ') || 'no sibling package'} (DESIGN.md).`,
    });
  }
  const forbiddenLayers = rawLayer === null ? [] : raftLayerForbids[rawLayer];
  if (forbiddenLayers.length > 0) {
    patterns.push({
      group: forbiddenLayers.flatMap((layer) => [`../${layer}`, `../${layer}/*`]),
      message: `raft/${rawLayer} must not import ${forbiddenLayers.join(', ')} (layers point one way: core ← storage, transport ← node).`,
    });
  }
  const paths = [];
  if (pure) {
    paths.push(...impureImports.paths);
    patterns.push(...impureImports.patterns);
  }
  return ['error', { paths, patterns }];
}

const pureRules = {
  'no-restricted-globals': [
    'error',
    ...[
      'setTimeout',
      'setInterval',
      'setImmediate',
      'clearTimeout',
      'clearInterval',
      'clearImmediate',
      'queueMicrotask',
    ].map((name) => ({
      name,
      message: 'Pure code has no timers: time enters through tick() or the entry stamp.',
    })),
    { name: 'Date', message: 'Pure code has no clock: time enters through tick() or the entry stamp.' },
    { name: 'performance', message: 'Pure code has no clock.' },
    { name: 'process', message: 'Pure code has no process access.' },
    { name: 'Promise', message: 'Pure code is synchronous: the runtime owns promises.' },
    { name: 'fetch', message: 'Pure code has no I/O.' },
    { name: 'require', message: 'Pure code has no dynamic imports.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'Use the injected, seeded PRNG.' },
    { object: 'crypto', property: 'randomUUID', message: 'Use the injected, seeded PRNG.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: ':function[async=true]', message: 'Pure code is synchronous: the runtime owns promises.' },
    { selector: 'AwaitExpression', message: 'Pure code is synchronous: the runtime owns promises.' },
    { selector: 'ImportExpression', message: 'Pure code has no dynamic imports.' },
  ],
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      'data/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      '**/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  ...allPackages.map((pkg) => ({
    files: [`packages/${pkg}/src/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports(pkg) },
  })),
  ...['storage', 'transport', 'node'].map((layer) => ({
    files: [`packages/raft/src/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports('raft', { rawLayer: layer }) },
  })),
  {
    files: ['packages/raft/src/core/**/*.ts'],
    rules: {
      ...pureRules,
      'no-restricted-imports': restrictedImports('raft', { pure: true, rawLayer: 'core' }),
    },
  },
  {
    files: ['packages/leadership-fsm/src/**/*.ts'],
    rules: { ...pureRules, 'no-restricted-imports': restrictedImports('leadership-fsm', { pure: true }) },
  },
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['describe', 'it', 'test'].map((object) => ({
          object,
          property: 'only',
          message: 'No focused tests.',
        })),
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
