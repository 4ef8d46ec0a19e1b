import os from 'node:os';
import { parseCommandLine } from './cli/command-line.js';
import { configSchema, loadConfig } from './config.js';

// The entry point: configuration from the environment, listen, stop cleanly on signals.
// It takes no arguments; --help lists the variables and their defaults.
const defaults: Record<string, unknown> = { ...configSchema.parse({}), WORKER_ID: `${os.hostname()}:<process id>` };
parseCommandLine({
  invocation: 'npm start --',
  summary: 'Starts the service: the HTTP API, the dashboard at /, and the training workers.\n' +
    'It takes no arguments: it is configured by environment variables, e.g. PORT=8080 npm start.',
  options: {},
  notes: `environment variables (default):\n${Object.keys(configSchema.shape)
    .map((name) => `  ${name.padEnd(26)}${defaults[name] === undefined ? '(unset)' : String(defaults[name])}`)
    .join('\n')}`,
});
// The app's modules load once the arguments are known good: --help and a typo answer at once.
const [{ default: pino }, { buildApp }] = await Promise.all([import('pino'), import('./app.js')]);

// Every line the process writes is a JSON log line: the app's on stdout, and, for a process that
// could not start (no app, so no app logger), one fatal line on stderr, in the same format.
const startupLog = pino(pino.destination({ dest: 2, sync: true }));

let config;
try {
  config = loadConfig();
} catch (error) {
  startupLog.fatal((error as Error).message);
  process.exit(2);
}
const app = await buildApp(config).catch((error: Error) => {
  startupLog.fatal(`could not start: ${error.message}`);
  process.exit(1);
});

// What reaches the process itself goes to the same log: Node's warnings (printed as plain text by
// default), and an error nothing caught, after which the process stops as Node would stop it.
process.removeAllListeners('warning');
process.on('warning', (warning) => app.log.warn({ err: warning }, 'process warning'));
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    app.log.fatal({ err: error }, `${event === 'uncaughtException' ? 'uncaught exception' : 'unhandled rejection'}; stopping`);
    process.exit(1);
  });
}

const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
if (!config.API_TOKEN && !loopback.test(config.HOST)) {
  app.log.warn({ host: config.HOST }, 'listening beyond loopback without API_TOKEN: anyone who can reach this port can use the service');
}

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    const started = Date.now();
    app.log.info({ signal }, 'shutting down: no new jobs; running jobs stop at a checkpoint');
    // Whatever happens, exit within the budget: state on disk is consistent at any moment.
    setTimeout(() => {
      app.log.warn({ afterMs: Date.now() - started }, 'shutdown budget spent; exiting now');
      process.exit(0);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => {
        app.log.info({ afterMs: Date.now() - started }, 'shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  });
}

try {
  await app.listen({ port: config.PORT, host: config.HOST });
} catch (error) {
  app.log.fatal({ err: error }, 'could not start');
  process.exit(1);
}
