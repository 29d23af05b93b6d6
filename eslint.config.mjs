// @ts-check
// Type-aware lint for the TypeScript sources (everything tsconfig.json includes). Prettier owns formatting:
// eslint-config-prettier goes last and turns off every stylistic rule that would fight it.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // bin/ is plain CommonJS outside the tsconfig; the config files here are not in the tsconfig either.
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cdc/**',
      'coverage/**',
      'bin/**',
      'eslint.config.mjs',
      '.dependency-cruiser.cjs',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A union switch with a `default` still has to name every member, so a new member is a lint error
      // rather than a silent fall into `default`.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Nest reads constructor parameter types at runtime (emitDecoratorMetadata): a class used only as an
      // injected type must stay a value import. The rule reads emitDecoratorMetadata from the tsconfig and does
      // not report in files that carry decorators.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Specs: vitest's expect(...) chains and mocks are loosely typed, and expect(obj.method) is not a call.
    // Stubs and handlers are written `async () => value` to satisfy Promise-typed callbacks (kafkajs eachMessage,
    // probes): require-await finds no bug there, so it stays on for production code only.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Plain Node ESM build scripts: outside the tsconfig, so the JS rules without type information.
    files: ['scripts/**/*.mjs'],
    extends: [eslint.configs.recommended],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
