import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { sweepParamsSchema, type SweepEvent } from '../schemas/sweeps.js';
import { followSweep } from '../sweeps/sweep-events.js';
import { CLOSE_NORMAL, CLOSE_UNSUPPORTED_DATA, send } from './job-events.js';

const description =
  'Upgrade to a WebSocket. The server sends every member’s job events (as GET /jobs/{id}/events does: status, baseline, ' +
  'progress, epoch, end), each with the member’s `jobId`: first what already happened, member by member, then live messages ' +
  'of every member as they come. Once every member has ended it sends `{"type": "sweep-end", "sweep": …}` (the sweep with ' +
  'its leaderboard) and closes with 1000. Every message is a SweepEvent (JSON). Client messages are ignored; binary frames ' +
  'close the socket with 1003; a client too slow to read is closed with 1008; shutdown closes with 1001.';

// @fastify/websocket hides its routes from @fastify/swagger: the document takes this path from here (see app.ts).
export const sweepEventsOpenApiPath = {
  '/sweeps/{id}/events': {
    get: {
      summary: 'WebSocket stream of every member of a sweep, each message tagged with its job id, until all have ended.',
      description,
      tags: ['sweeps'],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        101: {
          description: 'Switching protocols; the server then sends SweepEvent messages.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepEvent' } } },
        },
        404: {
          description: 'No such sweep (refused before the upgrade).',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        429: {
          description: 'The sweep already has as many watchers as the service allows.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  },
};

const sweepEventRoutes: FastifyPluginAsyncZod<{ maxWatchersPerSweep: number }> = async (app, options) => {
  const watchers = new Map<string, number>();

  app.get('/sweeps/:id/events', {
    websocket: true,
    schema: { params: sweepParamsSchema },
    // Unknown sweeps are refused before the upgrade, with a plain 404.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      app.sweeps.get(id);
      if ((watchers.get(id) ?? 0) >= options.maxWatchersPerSweep) {
        throw new ApiError('TOO_MANY_WATCHERS', `sweep ${id} already has ${options.maxWatchersPerSweep} watchers (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
    },
  }, (socket, request) => {
    const { id } = request.params;
    watchers.set(id, (watchers.get(id) ?? 0) + 1);
    let unsubscribe = () => {};
    socket.on('close', () => {
      unsubscribe();
      const remaining = (watchers.get(id) ?? 1) - 1;
      if (remaining > 0) watchers.set(id, remaining);
      else watchers.delete(id);
    });
    socket.on('message', (_data, isBinary) => {
      if (isBinary) socket.close(CLOSE_UNSUPPORTED_DATA, 'this stream only sends; binary frames are not accepted');
    });
    const deliver = (event: SweepEvent) => {
      send(socket, event);
      if (event.type === 'sweep-end') socket.close(CLOSE_NORMAL, `sweep ${event.sweep.status}`);
    };
    try {
      unsubscribe = followSweep(app.sweeps, app.jobs, id, deliver);
    } catch {
      // Deleted between the upgrade's check and now.
      socket.close(CLOSE_NORMAL, 'sweep deleted');
    }
  });
};

export default sweepEventRoutes;
