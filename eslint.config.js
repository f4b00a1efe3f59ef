// ESLint with typescript-eslint, type-aware: floating promises and misused async matter in device and server code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { dependencyPlugin } from './scripts/eslint-dependency-direction.js';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'test-results/**', 'bench/results.json', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*/bin/*.js', 'eslint.config.js', 'scripts/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // fastify handlers and CLI mains are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A workspace uses another only through its package exports, never by reaching into its folders.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+(common|device-drivers|fixtures|store|kiosk-app|sync-agent|provisioning)/src/', message: 'import another workspace through its package name and exports' },
            { regex: '^@kiosk/[^/]+/src/', message: 'import another workspace through its package exports' },
          ],
        },
      ],
    },
  },
  {
    // The dependency direction (scripts/eslint-dependency-direction.js): each workspace imports only the @kiosk
    // packages its package.json lists, and device-drivers/src folders only the layers below them.
    plugins: { kiosk: dependencyPlugin },
    rules: { 'kiosk/dependency-direction': ['error', { root: import.meta.dirname }] },
  },
  {
    files: ['*/bin/*.js', 'eslint.config.js', 'scripts/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
