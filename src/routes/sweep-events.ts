import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { ApiError } from '../errors.js';
import { sweepParamsSchema, type SweepEvent } from '../schemas/sweeps.js';
import { followSweep } from '../sweeps/sweep-events.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_NORMAL, DROP_CLIENT_BYTES, SKIP_PROGRESS_BYTES, eventStreams, send } from './event-streams.js';

// The one id a sweep's event stream gives: its last message's. A client that has it (an
// EventSource reconnecting after the end) gets 204, which tells it to stop. Other messages
// carry no id: the members' ids interleave, so a reconnect replays the sweep from its start.
const END_ID = 'sweep-end';

const description =
  'Upgrade to a WebSocket, or GET it as Server-Sent Events (text/event-stream: the same messages as `data:` frames, ' +
  'heartbeat comments, the stream ending after sweep-end, whose id is `sweep-end`; a reconnect without it replays from the ' +
  'start, one with `Last-Event-ID: sweep-end` gets 204). The server sends every member’s job events (as GET /jobs/{id}/events does: status, baseline, ' +
  'progress, epoch, end), each with the member’s `jobId`: first what already happened, member by member, then live messages ' +
  'of every member as they come. Once every member has ended it sends `{"type": "sweep-end", "sweep": …}` (the sweep with ' +
  'its leaderboard) and closes with 1000. Every message is a SweepEvent (JSON). Client messages are ignored; binary frames ' +
  'close the socket with 1003; a client too slow to read is closed with 1008; shutdown closes with 1001.';

// @fastify/websocket hides its routes from @fastify/swagger: the document takes this path from here (see app.ts).
export const sweepEventsOpenApiPath = {
  '/sweeps/{id}/events': {
    get: {
      'x-scope': 'train',
      summary: 'WebSocket or Server-Sent Events stream of every member of a sweep, each message tagged with its job id, until all have ended.',
      description,
      tags: ['sweeps'],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        101: {
          description: 'Switching protocols; the server then sends SweepEvent messages.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepEvent' } } },
        },
        200: {
          description: 'With Accept: text/event-stream: the same SweepEvent messages as Server-Sent Events.',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        204: { description: 'Last-Event-ID: sweep-end: the client has the whole stream.' },
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

const sweepEventRoutes: FastifyPluginAsyncZod<{ maxWatchersPerSweep: number; heartbeatMs: number }> = async (app, options) => {
  const streams = eventStreams(app, { what: 'sweep', maxWatchers: options.maxWatchersPerSweep, heartbeatMs: options.heartbeatMs });

  const onWebSocket = (socket: WebSocket, request: FastifyRequest<{ Params: { id: string } }>) => {
    const { id } = request.params;
    let unsubscribe = () => {};
    let closed = false;
    streams.accept(socket, request, () => {
      closed = true;
      unsubscribe();
    });
    const deliver = (event: SweepEvent) => {
      send(socket, event);
      if (event.type === 'sweep-end') socket.close(CLOSE_NORMAL, `sweep ${event.sweep.status}`);
    };
    followSweep(app.sweeps, app.jobs, id, deliver).then(
      (stop) => {
        if (closed) stop();
        else unsubscribe = stop;
      },
      (error: Error) => {
        // Deleted between the upgrade's check and now, or the store is unreachable.
        if (error instanceof ApiError && error.code === 'SWEEP_NOT_FOUND') socket.close(CLOSE_NORMAL, 'sweep deleted');
        else {
          request.log.error({ err: error, sweepId: id }, 'could not follow the sweep\'s events');
          socket.close(CLOSE_INTERNAL_ERROR, 'the event stream is unavailable; reconnect to resume');
        }
      },
    );
  };

  const onEventStream = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const { id } = request.params;
    if (request.headers['last-event-id'] === END_ID) return reply.code(204).send();
    const { stream, buffered, following, respond } = streams.openEventStream(id, request, reply);
    const deliver = (event: SweepEvent) => {
      if (!stream.writable) return;
      if (buffered() > DROP_CLIENT_BYTES) return stream.end();
      if (event.type === 'progress' && buffered() > SKIP_PROGRESS_BYTES) return;
      if (event.type !== 'sweep-end') return stream.write(`data: ${JSON.stringify(event)}\n\n`);
      stream.end(`id: ${END_ID}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const stop = await followSweep(app.sweeps, app.jobs, id, deliver).catch((error: Error) => {
      stream.destroy();
      throw error;
    });
    following(stop);
    return respond();
  };

  app.route({
    method: 'GET',
    url: '/sweeps/:id/events',
    config: { scope: 'train', owner: 'sweep' },
    schema: { hide: true, params: sweepParamsSchema },
    // Unknown sweeps and one watcher too many are refused before the upgrade or the stream.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      await app.sweeps.get(id);
    },
    // (An event stream that has the end gets 204, and takes no place.)
    preHandler: async (request) => {
      if (request.ws || request.headers['last-event-id'] !== END_ID) await streams.admit(request.params.id, request);
    },
    onResponse: (request, _reply, done) => {
      streams.answered(request);
      done();
    },
    wsHandler: onWebSocket,
    handler: async (request, reply) => onEventStream(request, reply),
  });
};

export default sweepEventRoutes;
