import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { ApiError } from '../errors.js';
import { sweepParamsSchema, type SweepEvent } from '../schemas/sweeps.js';
import { followSweep } from '../sweeps/sweep-events.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_NORMAL, CLOSE_UNSUPPORTED_DATA, DROP_CLIENT_BYTES, RECONNECT_MS, SKIP_PROGRESS_BYTES, send } from './job-events.js';

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
  const watchers = new Map<string, number>();
  const watch = (id: string) => {
    watchers.set(id, (watchers.get(id) ?? 0) + 1);
    return () => {
      const remaining = (watchers.get(id) ?? 1) - 1;
      if (remaining > 0) watchers.set(id, remaining);
      else watchers.delete(id);
    };
  };
  const eventStreams = new Set<PassThrough>();
  app.addHook('preClose', (done) => {
    for (const stream of eventStreams) stream.end();
    done();
  });

  const onWebSocket = (socket: WebSocket, request: FastifyRequest<{ Params: { id: string } }>) => {
    const { id } = request.params;
    const unwatch = watch(id);
    let unsubscribe = () => {};
    let closed = false;
    socket.on('close', () => {
      closed = true;
      unsubscribe();
      unwatch();
    });
    socket.on('message', (_data, isBinary) => {
      if (isBinary) socket.close(CLOSE_UNSUPPORTED_DATA, 'this stream only sends; binary frames are not accepted');
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
    const stream = new PassThrough();
    const buffered = () => stream.writableLength + stream.readableLength + reply.raw.writableLength;
    const deliver = (event: SweepEvent) => {
      if (!stream.writable) return;
      if (buffered() > DROP_CLIENT_BYTES) return stream.end();
      if (event.type === 'progress' && buffered() > SKIP_PROGRESS_BYTES) return;
      if (event.type !== 'sweep-end') return stream.write(`data: ${JSON.stringify(event)}\n\n`);
      stream.end(`id: ${END_ID}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unwatch = watch(id);
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), options.heartbeatMs);
    let unsubscribe = () => {};
    eventStreams.add(stream);
    stream.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      unwatch();
      eventStreams.delete(stream);
    });
    request.raw.on('close', () => stream.destroy());
    stream.write(`retry: ${RECONNECT_MS}\n: events of sweep ${id}\n\n`);
    const following = await followSweep(app.sweeps, app.jobs, id, deliver).catch((error: Error) => {
      stream.destroy();
      throw error;
    });
    if (stream.writable) unsubscribe = following;
    else following();
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(stream);
  };

  app.route({
    method: 'GET',
    url: '/sweeps/:id/events',
    schema: { hide: true, params: sweepParamsSchema },
    // Unknown sweeps and one watcher too many are refused before the upgrade or the stream.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      await app.sweeps.get(id);
      if ((watchers.get(id) ?? 0) >= options.maxWatchersPerSweep) {
        throw new ApiError('TOO_MANY_WATCHERS', `sweep ${id} already has ${options.maxWatchersPerSweep} watchers (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
    },
    wsHandler: onWebSocket,
    handler: async (request, reply) => onEventStream(request, reply),
  });
};

export default sweepEventRoutes;
