import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { snapshotEvents } from '../jobs/job-events.js';
import { finishedStatuses, jobParamsSchema, type Job, type JobEvent } from '../schemas/jobs.js';
import { eventId, formatEventId, isAfter, parseEventId, type EventId } from './job-event-ids.js';

// A client this far behind misses progress messages (they are superseded by the next one);
// one this far behind is cut off, so it can never hold memory or slow anyone down.
export const SKIP_PROGRESS_BYTES = 256 * 1024;
export const DROP_CLIENT_BYTES = 8 * 1024 * 1024;

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
  'Upgrade to a WebSocket, or GET it as Server-Sent Events (text/event-stream, e.g. `curl -N` or a browser\'s EventSource). ' +
  'The server first sends what already happened (a `status` message, the `baseline` (the untrained model, epoch 0) once ' +
  'measured, and one `epoch` message per finished epoch), then live `status`, `baseline`, `progress` (a few per second at ' +
  'most) and `epoch` messages, and finally an `end` message, after which it closes ' +
  'the WebSocket with code 1000, or ends the event stream. Every message is a JobEvent (JSON). WebSocket: client messages are ' +
  'ignored; binary frames close the socket with 1003; a client too slow to read is closed with 1008; shutdown closes with 1001. ' +
  'Event stream: each event has an `id:` (its position in the job\'s events, e.g. `3-0` for epoch 3); a client reconnecting ' +
  'with `Last-Event-ID` gets only what came after it, and 204 once nothing more will come (which stops an EventSource). ' +
  'Comment lines keep idle streams open through proxies. Both count towards MAX_WATCHERS_PER_JOB.';

// @fastify/websocket hides its routes from @fastify/swagger, so the document gets this
// path from here (see app.ts), written next to the route it describes.
export const jobEventsOpenApiPath = {
  '/jobs/{id}/events': {
    get: {
      summary: 'WebSocket stream of a job: status, progress, epoch metrics, then end.',
      description,
      tags: ['jobs'],
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'last-event-id', in: 'header', required: false, schema: { type: 'string' }, description: 'Event stream: resume after this event.' },
      ],
      responses: {
        101: {
          description: 'Switching protocols; the server then sends JobEvent messages.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/JobEvent' } } },
        },
        200: {
          description: 'A Server-Sent Events stream: `id: <position>` and `data: <JobEvent as JSON>` for each event.',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        204: { description: 'Event stream: the client (by its Last-Event-ID) already has every event of this finished job.' },
        400: {
          description: 'A Last-Event-ID that is not one of this stream\'s ids.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
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

// How long an EventSource waits before it reconnects (its default is 3 s).
export const RECONNECT_MS = 1000;
const eventFrame = (event: JobEvent) => `id: ${formatEventId(eventId(event))}\ndata: ${JSON.stringify(event)}\n\n`;
// What a job's replay sends, in id order: a client that loses the connection part way resumes
// after the last id it received without missing an earlier event (the status moves after the
// epochs it follows).
const byId = (a: JobEvent, b: JobEvent) => (isAfter(eventId(a), eventId(b)) ? 1 : isAfter(eventId(b), eventId(a)) ? -1 : 0);

const headersSchema = z.object({
  'last-event-id': z.string().max(100).optional().describe('Event stream: resume after this event.'),
});

const jobEventRoutes: FastifyPluginAsyncZod<{ maxWatchersPerJob: number; heartbeatMs: number }> = async (app, options) => {
  const watchers = new Map<string, number>();
  const watch = (jobId: string) => {
    watchers.set(jobId, (watchers.get(jobId) ?? 0) + 1);
    return () => {
      const remaining = (watchers.get(jobId) ?? 1) - 1;
      if (remaining > 0) watchers.set(jobId, remaining);
      else watchers.delete(jobId);
    };
  };
  const eventStreams = new Set<PassThrough>();
  // Open event streams end when the service closes (a client's EventSource then reconnects elsewhere).
  app.addHook('preClose', (done) => {
    for (const stream of eventStreams) stream.end();
    done();
  });

  // The WebSocket: every event, replay then live, as JSON messages.
  const onWebSocket = (socket: WebSocket, request: FastifyRequest<{ Params: { id: string } }>) => {
    const { id } = request.params;
    const unwatch = watch(id);
    let unfollow = () => {};
    let closed = false;
    socket.on('close', () => {
      closed = true;
      unfollow();
      unwatch();
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
  };

  // Server-Sent Events: the same events, each with its id, after the client's Last-Event-ID.
  const onEventStream = async (job: Job, after: EventId | undefined, request: FastifyRequest, reply: FastifyReply) => {
    const replay = snapshotEvents(job).sort(byId);
    const newer = (event: JobEvent) => !after || isAfter(eventId(event), after);
    // A finished job whose end the client has: 204 tells its EventSource to stop reconnecting.
    if (finishedStatuses.includes(job.status) && !replay.some(newer)) return reply.code(204).send();
    const stream = new PassThrough();
    const buffered = () => stream.writableLength + stream.readableLength + reply.raw.writableLength;
    // Only what is newer than what the client has, replayed or live (a job resumed after a
    // restart repeats the positions of its unfinished stretch).
    let last = after;
    const deliver = (event: JobEvent) => {
      const id = eventId(event);
      if (last && !isAfter(id, last)) return;
      if (buffered() > DROP_CLIENT_BYTES) return stream.end();
      if (event.type === 'progress' && buffered() > SKIP_PROGRESS_BYTES) return;
      last = id;
      stream.write(eventFrame(event));
      if (event.type === 'end') stream.end();
    };
    const unwatch = watch(job.id);
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), options.heartbeatMs);
    let unsubscribe = () => {};
    eventStreams.add(stream);
    stream.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      unwatch();
      eventStreams.delete(stream);
    });
    // A client that goes away ends its stream.
    request.raw.on('close', () => stream.destroy());
    // Sent at once, so the client has its headers now; a dropped stream reconnects after a second.
    stream.write(`retry: ${RECONNECT_MS}\n: events of job ${job.id}\n\n`);
    // The replay (and whatever follows it before following is set up) in id order, then live.
    let held: JobEvent[] | undefined = [];
    const following = await app.jobs.follow(job.id, undefined, (event) => (held ? held.push(event) : deliver(event)));
    const replayed = held.sort(byId);
    held = undefined;
    for (const event of replayed) deliver(event);
    if (!following) stream.end();
    else if (stream.writable) unsubscribe = following;
    else following();
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      // Proxies that buffer responses (nginx) pass this one on as it comes.
      .header('x-accel-buffering', 'no')
      .send(stream);
  };

  app.route({
    method: 'GET',
    url: '/jobs/:id/events',
    // Documented by jobEventsOpenApiPath (a WebSocket route has no place in the generated document).
    schema: { hide: true, params: jobParamsSchema, headers: headersSchema },
    // Unknown jobs and one watcher too many are refused before the upgrade or the stream.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      if (!(await app.jobs.get(id))) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
      if ((watchers.get(id) ?? 0) >= options.maxWatchersPerJob) {
        throw new ApiError('TOO_MANY_WATCHERS', `job ${id} already has ${options.maxWatchersPerJob} watchers (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
    },
    wsHandler: onWebSocket,
    handler: async (request, reply) => {
      const lastEventId = request.headers['last-event-id'];
      const after = lastEventId === undefined ? undefined : parseEventId(lastEventId);
      if (lastEventId !== undefined && !after) {
        throw new ApiError('VALIDATION_FAILED', `headers.last-event-id: ${JSON.stringify(lastEventId)} is not an event id of this stream (they read like 3-0)`);
      }
      const job = await app.jobs.get(request.params.id);
      if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${request.params.id}`);
      return onEventStream(job, after, request, reply);
    },
  });
};

export default jobEventRoutes;
