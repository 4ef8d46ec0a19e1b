// The house's rules (STYLE.md item 11), checked by dependency-cruiser over src/ and workers/ in
// npm test (test/dependencies.test.ts); `npx depcruise src workers` prints what breaks them.
// Type-only imports count: a type names what it depends on as much as a value does.

// The layers, bottom first. A module imports its own layer and those below, never one above.
const layers = [
  ['the engine', '^src/engine/'],
  ['the floor', '^src/(errors|config|version|retention)[.]ts$'],
  ['the building blocks', '^src/(protocol[.]ts$|logging/|validation/|data/|schemas/|formats/|images/|evaluation/|lab/|store/|types/)'],
  ['the services both modes share', '^src/(runtime|models|jobs|sweeps|admission|tenants)/'],
  ['the ports', '^src/ports[.]ts$'],
  ['the adapters', '^src/adapters/'],
  ['the HTTP layer', '^src/(plugins|routes)/'],
  ['the app', '^src/(app|openapi-document)[.]ts$'],
  ['the entry points', '^(src/server[.]ts$|src/cli/|workers/)'],
];
const anyLayer = layers.map(([, path]) => `(${path})`).join('|');
const service = '^(src|workers)/';

const arrowsPointDown = layers.slice(0, -1).map(([name, path], index) => ({
  name: `not-above-${name.replaceAll(' ', '-')}`,
  comment: `${name} imports nothing above it (${layers.slice(index + 1).map(([above]) => above).join(', ')})`,
  severity: 'error',
  from: { path },
  to: { path: layers.slice(index + 1).map(([, above]) => `(${above})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no module reaches itself through its imports',
      severity: 'error',
      from: { path: service },
      to: { circular: true },
    },
    {
      name: 'engine-is-pure',
      comment: 'src/engine imports only src/engine: nothing of the service, no fastify, piscina, pino or fs (STYLE.md item 2)',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { pathNot: '^src/engine/' },
    },
    {
      name: 'error-table-is-the-floor',
      comment: 'src/errors.ts, the error table, imports nothing of the service',
      severity: 'error',
      from: { path: '^src/errors[.]ts$' },
      to: { path: service },
    },
    {
      name: 'ports-are-types-only',
      comment: 'src/ports.ts imports types only: no implementation is loaded through it',
      severity: 'error',
      from: { path: '^src/ports[.]ts$' },
      to: { dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-stay-below-the-app',
      comment: 'an adapter never imports the app, the routes or the plugins',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(app[.]ts$|openapi-document[.]ts$|server[.]ts$|routes/|plugins/)' },
    },
    {
      name: 'adapters-apart',
      comment: 'one adapter never imports another',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'one-composition-root',
      comment: 'only the composition root (src/plugins/services.ts) picks an adapter',
      severity: 'error',
      from: { path: service, pathNot: '^src/(adapters/|plugins/services[.]ts$)' },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'routes-use-ports',
      comment: 'routes use the ports (src/ports.ts), never an adapter or the composition root',
      severity: 'error',
      from: { path: '^src/routes/' },
      to: { path: '^src/(adapters/|plugins/services[.]ts$)' },
    },
    ...arrowsPointDown,
    {
      name: 'importer-in-a-layer',
      comment: 'every module of src/ and workers/ has its place in a layer (a new folder goes into `layers` above)',
      severity: 'error',
      from: { path: service, pathNot: anyLayer },
      to: {},
    },
    {
      name: 'imported-in-a-layer',
      comment: 'every module of src/ and workers/ has its place in a layer (a new folder goes into `layers` above)',
      severity: 'error',
      from: { path: service },
      to: { path: service, pathNot: anyLayer },
    },
    {
      name: 'no-orphans',
      comment: 'every module of src/ and workers/ imports or is imported (declarations aside)',
      severity: 'error',
      from: { orphan: true, path: service, pathNot: '[.]d[.]ts$' },
      to: {},
    },
    {
      name: 'resolvable',
      comment: 'every import resolves, so that no dependency escapes these rules',
      severity: 'error',
      from: { path: service },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The AssemblyScript kernels compile to WebAssembly on their own (npm run build:wasm).
    exclude: { path: '^src/engine/simd/assembly/' },
  },
};
