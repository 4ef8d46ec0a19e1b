// `npm start`: build if a source changed since the last build, make sure Fashion-MNIST is
// where the service looks for it, then run the service, all in this one process.
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.mjs';

const usage = `usage: npm start -- [options]

Runs the service on http://127.0.0.1:3000, building it first when a source changed since the last
build (scripts/build.mjs) and finding or fetching Fashion-MNIST (src/cli/ensure-data.ts).

options:
  -h, --help  print this help and exit

Configuration is through the environment (HOST, PORT, DATA_DIR, ...): docs/operations.md lists every
variable, and so does \`node dist/src/server.js --help\` once built.`;

let options;
try {
  options = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values;
} catch (error) {
  // parseArgs explains its own syntax at length; one line is enough here.
  console.error(`npm start: ${error.message.split(/\.( |$)/)[0]}; see npm start -- --help`);
  process.exit(2);
}
if (options.help) {
  console.log(usage);
  process.exit(0);
}

try {
  await ensureBuilt({ ifChanged: true });
} catch (error) {
  console.error(`build: ${error.message}`);
  process.exit(1);
}
await import('../dist/src/cli/ensure-data.js');
await import('../dist/src/server.js');
