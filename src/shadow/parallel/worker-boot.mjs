// Fallback entry of a judge worker thread, used when the bundled worker cannot be built (see
// worker-entry.ts). Worker threads do not inherit the main thread's module hooks, and tsx
// registers itself in the main thread only, so the worker registers tsx here (resolved from
// this package, as bin/prio.js does) before it loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
