// Headers that make the dashboard's page cross-origin isolated: only there may a page share a
// SharedArrayBuffer (one WebAssembly.Memory) with its Web Workers, which the browser trainer's
// threads need. The page loads nothing from other origins, so requiring CORP of embedded
// resources costs nothing; the same-origin resource policy keeps other sites from embedding ours.
export const crossOriginIsolationHeaders = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;
