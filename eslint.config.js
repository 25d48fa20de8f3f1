// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layer graph (STYLE.md, docs/architecture.md): what each part of src/
 * may import. A zone forbids imports into `target` from `from`; anything not
 * forbidden is allowed. Lower layers never import higher ones.
 */
const LAYERS = {
  // the protocol, and nothing else
  sip: [],
  // pure policy and leaf modules
  limits: [],
  numbers: [],
  media: [],
  alerts: [],
  errors: [],
  // the configuration: its schema builds on the protocol's listen URLs and the limits' account types
  config: ['sip', 'limits', 'numbers', 'errors'],
  // the shared limit store (limits.store: redis): Redis behind the limits' LimitStore seam
  store: ['limits', 'alerts', 'config'],
  // the provider's front door
  termination: ['sip', 'limits', 'numbers', 'media', 'alerts', 'errors', 'config'],
  // the emulated telephone network
  pstn: ['sip', 'numbers', 'media', 'config'],
  // calls: the B2BUA on top of the front door and the emulator
  b2bua: ['sip', 'limits', 'media', 'alerts', 'config', 'termination', 'pstn'],
  // TwiML documents: parsed with a maintained XML library, nothing of ours
  twiml: [],
  // clients: the registrar and the client domains (REGISTER, clients' INVITEs), on the front door's digest
  clients: ['sip', 'limits', 'alerts', 'config', 'termination'],
  // conference rooms and their rules: pure state
  conference: [],
  // Programmable Voice: the Calls API's engine, its CPS queues and webhooks; calls reuse the B2BUA's far legs
  voice: ['sip', 'limits', 'numbers', 'media', 'alerts', 'errors', 'config', 'termination', 'pstn', 'b2bua', 'twiml', 'clients', 'conference'],
  // the inbound side: calls towards the PBX (origination URIs, failover, webhooks), load runs; transfers reuse the B2BUA's
  origination: ['sip', 'limits', 'numbers', 'media', 'alerts', 'errors', 'config', 'termination', 'pstn', 'b2bua', 'voice'],
  // observers: they read the layers' events and state
  metrics: ['sip', 'limits', 'alerts', 'config', 'termination', 'b2bua', 'voice', 'twiml', 'clients', 'conference', 'origination'],
  // watching calls: message store, pcap, HEP, logs; they read the layers' events
  observability: ['sip', 'limits', 'alerts', 'config', 'termination', 'b2bua'],
  // the admin API reads state; it owns none
  http: ['sip', 'limits', 'numbers', 'media', 'alerts', 'errors', 'config', 'termination', 'pstn', 'b2bua', 'metrics', 'voice', 'twiml', 'observability', 'clients', 'conference', 'origination'],
  // the scenario runner: a client of a running gateway (its HTTP shapes), predicting with the limits
  scenario: ['limits', 'errors', 'http'],
  // the command line's subcommands (src/cli.ts registers them)
  commands: ['config', 'errors', 'scenario'],
};
const LEAF_FILES = { errors: 'src/errors.ts' };
const pathOf = (layer) => LEAF_FILES[layer] ?? `src/${layer}`;
const zones = Object.entries(LAYERS).flatMap(([layer, allowed]) =>
  [...Object.keys(LAYERS), 'gateway', 'cli']
    .filter((other) => other !== layer && !allowed.includes(other))
    .map((other) => ({
      target: `./${pathOf(layer)}`,
      from: other === 'gateway' || other === 'cli' ? `./src/${other}.ts` : `./${pathOf(other)}`,
      message: `${layer}/ may import only ${allowed.length === 0 ? 'itself' : allowed.join(', ')} (the layer graph in eslint.config.js, docs/architecture.md)`,
    })),
);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // a promise is awaited, returned or handled: `void p` without a catch is not enough
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'sip.js', message: 'sip.js is a test UA only: keep it out of src/ (too slow for the hot path).' }] },
      ],
    },
  },
  {
    // the status page's script runs in the browser, as a classic script
    files: ['status-page/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'script' },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      // vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed `any` by design
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
