// Import boundaries of the monorepo (docs: https://github.com/sverweij/dependency-cruiser/blob/main/doc/rules-reference.md).
// Paths are relative to the repo root; `@cdc/<lib>` resolves through tsconfig.json to libs/<lib>/src/index.ts.
// `$1` in a `to` pattern is the first group captured by the rule's `from.path`.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles (type-only imports count too: a cycle through a barrel is still a cycle).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves; an unresolved @cdc alias would otherwise slip past every rule below.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'apps-not-to-other-apps',
      severity: 'error',
      comment: 'Apps import libs, never each other.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'libs-not-to-apps',
      severity: 'error',
      comment: 'Libs never import apps.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'contracts-no-other-libs',
      severity: 'error',
      comment: 'libs/contracts is pure: nothing of ours.',
      from: { path: '^libs/contracts/' },
      to: { path: '^libs/', pathNot: '^libs/contracts/' },
    },
    {
      name: 'parity-only-contracts',
      severity: 'error',
      comment: 'libs/parity is pure: of our libs only contracts.',
      from: { path: '^libs/parity/' },
      to: { path: '^libs/', pathNot: '^libs/(parity|contracts)/' },
    },
    {
      name: 'pure-libs-no-nest',
      severity: 'error',
      comment: 'libs/contracts and libs/parity do not depend on Nest.',
      from: { path: '^libs/(contracts|parity)/' },
      to: { path: '(^|/)node_modules/@nestjs/|^@nestjs/' },
    },
    {
      name: 'adapters-only-foundation',
      severity: 'error',
      comment:
        'Adapters (redis, kafka, dynamo) import only contracts, parity, config and observability: ' +
        'never each other, never feature libs.',
      from: { path: '^libs/(redis|kafka|dynamo)/' },
      to: { path: '^libs/', pathNot: '^libs/($1|contracts|parity|config|observability)/' },
    },
    {
      name: 'config-no-other-libs',
      severity: 'error',
      comment: 'libs/config (the schema, parsed once) is the foundation: nothing of ours.',
      from: { path: '^libs/config/' },
      to: { path: '^libs/', pathNot: '^libs/config/' },
    },
    {
      name: 'observability-only-config-contracts',
      severity: 'error',
      comment:
        'libs/observability (logs, metrics, health, app boot) imports of our libs only config and contracts.',
      from: { path: '^libs/observability/' },
      to: { path: '^libs/', pathNot: '^libs/(observability|config|contracts)/' },
    },
    {
      name: 'pipeline-not-to-stack',
      severity: 'error',
      comment:
        'What runs in production (the pipeline libs) never imports libs/stack, the local engines for the CLI ' +
        'and the tests.',
      from: {
        path: '^libs/(capture|applier|verifier|redis|kafka|dynamo|parity|contracts|config|observability)/',
      },
      to: { path: '^libs/stack/' },
    },
    {
      name: 'stack-no-other-libs',
      severity: 'error',
      comment: 'libs/stack (local engines) stands alone.',
      from: { path: '^libs/stack/' },
      to: { path: '^libs/', pathNot: '^libs/stack/' },
    },
    {
      name: 'features-not-to-each-other',
      severity: 'error',
      comment: 'Feature libs capture, applier and verifier never import each other.',
      from: { path: '^libs/(capture|applier|verifier)/' },
      to: { path: '^libs/(capture|applier|verifier)/', pathNot: '^libs/$1/' },
    },
    {
      name: 'testing-only-from-tests',
      severity: 'error',
      comment: 'libs/testing is for specs (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts) and test/** only.',
      from: { pathNot: ['[.-]spec\\.ts$', '^test/', '^libs/testing/'] },
      to: { path: '^libs/testing/' },
    },
    {
      name: 'libs-only-through-entry',
      severity: 'error',
      comment:
        "Across libs, import only the lib's entry (libs/<x>/src/index.ts, i.e. @cdc/<x>), never a deep path. " +
        'Inside a lib, relative imports are free.',
      from: { path: '^(apps|test|libs/[^/]+)/' },
      to: { path: '^libs/[^/]+/', pathNot: ['^$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
