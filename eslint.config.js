// ESLint with typescript-eslint, type-aware: floating promises and misused async matter in device and server code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'test-results/**', 'bench/results.json', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*/bin/*.js', 'eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
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
    files: ['*/bin/*.js', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
