// Type-aware lint: the recommended-type-checked rules catch floating promises and unsafe `any`
// flows, which in a payments codebase are the bugs that lose money quietly. The layer rules at
// the end enforce docs/architecture.md: which folder of src/ may import which.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first (docs/architecture.md). A folder may import its own layer's
 * lower neighbours as listed in `may`; everything else in src/ is forbidden to it. Type-only
 * imports are allowed across layers (a port's type may be named by its adapter), value imports
 * are not. Root files (composition.ts, runtime.ts, server.ts, main.ts, cli.ts) are the
 * composition root and may import anything.
 */
const FOLDERS = ['domain', 'events', 'aggregates', 'db', 'eventstore', 'gateways', 'projections', 'commands', 'processmanagers', 'api', 'cli'];
const ROOT = ['composition', 'runtime', 'server', 'main', 'cli'];
/** Entry points that open what they run on: the CLI's commands open storage as the server does. */
const ROOT_FOR = { cli: ['runtime'] };
const MAY = {
  domain: [],
  events: ['domain'],
  aggregates: ['domain', 'events'],
  db: [],
  eventstore: ['db'],
  gateways: ['domain', 'events', 'db'],
  projections: ['domain', 'events', 'aggregates', 'db', 'eventstore'],
  commands: ['domain', 'events', 'aggregates', 'eventstore', 'projections'],
  processmanagers: ['domain', 'events', 'aggregates', 'db', 'eventstore', 'gateways', 'projections', 'commands'],
  api: ['domain', 'events', 'aggregates', 'db', 'eventstore', 'gateways', 'projections', 'commands', 'processmanagers'],
  cli: ['domain', 'events', 'aggregates', 'db', 'eventstore', 'projections'],
};

const layerRules = FOLDERS.map((folder) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [
              ...FOLDERS.filter((other) => other !== folder && !MAY[folder].includes(other)).map((other) => `**/${other}/*`),
              ...ROOT.filter((file) => !(ROOT_FOR[folder] ?? []).includes(file)).flatMap((file) => [`../${file}.js`, `../../${file}.js`, `../../../${file}.js`]),
            ],
            allowTypeImports: true,
            message: `src/${folder}/ may import only ${MAY[folder].length > 0 ? MAY[folder].map((f) => `src/${f}/`).join(', ') + ' (and' : '(no other folder; only'} errors.ts, config.ts, logger.ts) (docs/architecture.md)`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'coverage/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'error',
    },
  },
  ...layerRules,
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
