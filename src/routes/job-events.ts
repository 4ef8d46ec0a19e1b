import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { ApiError } from '../errors.js';
import { jobParamsSchema, type JobEvent } from '../schemas/jobs.js';

// A client this far behind misses progress messages (they are superseded by the next one);
// one this far behind is cut off, so it can never hold memory or slow anyone down.
const SKIP_PROGRESS_BYTES = 256 * 1024;
const DROP_CLIENT_BYTES = 8 * 1024 * 1024;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_TOO_SLOW = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;

// Sends one stream message, dropping progress for a client that lags and cutting off one
// that lags far (every event stream: jobs and sweeps).
export function send(socket: WebSocket, event: { type: string }): void {
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount > DROP_CLIENT_BYTES) {
    socket.close(CLOSE_TOO_SLOW, 'client too slow to keep up with the event stream');
    return;
  }
  if (event.type === 'progress' && socket.bufferedAmount > SKIP_PROGRESS_BYTES) return;
  socket.send(JSON.stringify(event));
}

const description =
  'Upgrade to a WebSocket. The server first sends what already happened (a `status` message, the `baseline` (the untrained ' +
  'model, epoch 0) once measured, and one `epoch` message per finished epoch), then live `status`, `baseline`, `progress` (a few ' +
  'per second at most) and `epoch` messages, and finally an `end` ' +
  'message, after which it closes with code 1000. Every message is a JobEvent (JSON). Client messages are ignored; binary ' +
  'frames close the socket with 1003; a client too slow to read is closed with 1008; shutdown closes with 1001.';

// @fastify/websocket hides its routes from @fastify/swagger, so the document gets this
// path from here (see app.ts), written next to the route it describes.
export const jobEventsOpenApiPath = {
  '/jobs/{id}/events': {
    get: {
      summary: 'WebSocket stream of a job: status, progress, epoch metrics, then end.',
      description,
      tags: ['jobs'],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        101: {
          description: 'Switching protocols; the server then sends JobEvent messages.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/JobEvent' } } },
        },
        404: {
          description: 'No such job (refused before the upgrade).',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        429: {
          description: 'The job already has as many watchers as the service allows.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  },
};

// @fastify/websocket's preClose, replaced so that watchers learn why the stream ends (its
// default closes without a code, which clients see as 1005).
export function closeStreamsOnShutdown(this: FastifyInstance, done: () => void): void {
  for (const client of this.websocketServer.clients) client.close(CLOSE_GOING_AWAY, 'service shutting down');
  this.websocketServer.close();
  done();
}

const jobEventRoutes: FastifyPluginAsyncZod<{ maxWatchersPerJob: number }> = async (app, options) => {
  const watchers = new Map<string, number>();

  app.get('/jobs/:id/events', {
    websocket: true,
    schema: { params: jobParamsSchema },
    // Unknown jobs are refused before the upgrade, with a plain 404.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      if (!(await app.jobs.get(id))) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
      if ((watchers.get(id) ?? 0) >= options.maxWatchersPerJob) {
        throw new ApiError('TOO_MANY_WATCHERS', `job ${id} already has ${options.maxWatchersPerJob} watchers (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
    },
  }, (socket, request) => {
    const { id } = request.params;
    watchers.set(id, (watchers.get(id) ?? 0) + 1);
    let unfollow = () => {};
    let closed = false;
    socket.on('close', () => {
      closed = true;
      unfollow();
      const remaining = (watchers.get(id) ?? 1) - 1;
      if (remaining > 0) watchers.set(id, remaining);
      else watchers.delete(id);
    });
    socket.on('message', (_data, isBinary) => {
      if (isBinary) socket.close(CLOSE_UNSUPPORTED_DATA, 'this stream only sends; binary frames are not accepted');
    });
    const deliver = (event: JobEvent) => {
      send(socket, event);
      if (event.type === 'end') socket.close(CLOSE_NORMAL, `job ${event.status}`);
    };
    // What already happened, then what happens: in order, nothing missed or repeated (JobsService.follow).
    app.jobs.follow(id, undefined, deliver).then(
      (stop) => {
        if (!stop) socket.close(CLOSE_NORMAL, `job ${id} was deleted`);
        else if (closed) stop();
        else unfollow = stop;
      },
      (error: Error) => {
        request.log.error({ err: error, jobId: id }, 'could not follow the job\'s events');
        socket.close(CLOSE_INTERNAL_ERROR, 'the event stream is unavailable; reconnect to resume');
      },
    );
  });
};

export default jobEventRoutes;
