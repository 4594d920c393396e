/** Keeps the arrows pointing one way: domain ← ports ← adapters/functions ← infra. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'shared/domain imports nothing outside itself but zod, pure evaluators (jsonata parses pull transforms, croner reads schedules, filtrex compiles processing expressions), convert-units (unit tables), ipaddr.js (classes target addresses), chevrotain (the InfluxQL grammar), simple-statistics (the analyses) and @datadog/sketches-js (the latency sketch and the rollups\' DDSketch key mapping): no SDK, no node I/O, no adapters.',
      severity: 'error',
      from: { path: '^shared/domain' },
      to: { pathNot: ['^shared/domain', 'node_modules/zod', 'node_modules/jsonata', 'node_modules/croner', 'node_modules/filtrex', 'node_modules/convert-units', 'node_modules/ipaddr.js', 'node_modules/chevrotain', 'node_modules/simple-statistics', 'node_modules/@datadog/sketches-js'] },
    },
    {
      name: 'ports-speak-the-domain',
      severity: 'error',
      from: { path: '^shared/ports\\.ts$' },
      to: { pathNot: ['^shared/domain', '^shared/ports\\.ts$'] },
    },
    {
      name: 'adapters-never-import-functions-or-infra',
      severity: 'error',
      from: { path: '^shared/(aws|local)' },
      to: { path: '^(functions|infra)/' },
    },
    {
      name: 'aws-sdk-only-in-aws-adapters',
      comment: 'Every AWS call lives in shared/aws (handler.ts files build the clients they pass in).',
      severity: 'error',
      from: { path: '^(shared/(domain|local)|functions/[^/]+/app\\.ts|functions/commons)' },
      to: { path: 'node_modules/@aws-sdk' },
    },
    {
      name: 'functions-do-not-import-infra',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^infra/' },
    },
    {
      name: 'tools-stand-alone',
      comment: 'tools/ are what a user copies (the walkthrough receiver): they use the published API only, never the code behind it.',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^(shared|functions|infra)/' },
    },
    {
      name: 'clients-use-the-api-only',
      comment:
        'packages/ are the published clients: they reach the API over HTTP only. Type-only imports of the schemas are allowed (the SDK infers its types from them; nothing of the server loads at run time).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^(shared|functions|infra|tools)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sdk-has-no-runtime-dependency',
      comment: '@tributary/client needs nothing but fetch: no npm package at run time (zod only for types).',
      severity: 'error',
      from: { path: '^packages/client/' },
      to: { path: 'node_modules', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
