// `npm start`: build if a source changed since the last build, make sure Fashion-MNIST is
// where the service looks for it, then run the service, all in this one process.
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.mjs';

const usage = `usage: npm start

Runs the service on http://127.0.0.1:3000 (HOST and PORT change it), building it first when a
source changed. Configuration is through the environment: docs/operations.md lists every variable.`;

try {
  if (parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values.help) {
    console.log(usage);
    process.exit(0);
  }
} catch (error) {
  console.error(`start: ${error.message}; see --help`);
  process.exit(2);
}

try {
  await ensureBuilt({ ifChanged: true });
} catch (error) {
  console.error(`build: ${error.message}`);
  process.exit(1);
}
await import('../dist/src/cli/ensure-data.js');
await import('../dist/src/server.js');
