import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { snapshotEvents } from '../jobs/job-events.js';
import { finishedStatuses, jobParamsSchema, type Job, type JobEvent } from '../schemas/jobs.js';
import { eventId, formatEventId, isAfter, parseEventId, type EventId } from '../jobs/event-ids.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_NORMAL, DROP_CLIENT_BYTES, SKIP_PROGRESS_BYTES, eventStreams, send } from './event-streams.js';

const description =
  'Upgrade to a WebSocket, or GET it as Server-Sent Events (text/event-stream, e.g. `curl -N` or a browser\'s EventSource). ' +
  'The same messages in the same order on both transports. The server first sends what already happened, in the order of the messages\' ids (the order they were sent live): the ' +
  '`baseline` (the untrained model, epoch 0) once measured, one `epoch` message per finished epoch, and the job\'s current ' +
  '`status` after the epochs it counts (before the baseline while no epoch is done); then live `status`, `baseline`, ' +
  '`progress` (a few per second at most) and `epoch` messages, and finally an `end` message, after which it closes ' +
  'the WebSocket with code 1000, or ends the event stream. Every message is a JobEvent (JSON). WebSocket: client messages are ' +
  'ignored; binary frames close the socket with 1003; a client too slow to read is closed with 1008; shutdown closes with 1001. ' +
  'Event stream: each event has an `id:` (its position in the job\'s events, e.g. `3-0` for epoch 3); a client reconnecting ' +
  'with `Last-Event-ID` gets only what came after it, and 204 once nothing more will come (which stops an EventSource). ' +
  'Comment lines keep idle streams open through proxies. Both count towards MAX_WATCHERS_PER_JOB. ' +
  'Resuming elsewhere (a WebSocket client whose connection or replica went away, or an EventSource\'s first connection): ' +
  '`?lastEventId=` sends only the events after that one, on either transport. A message\'s id follows from the message: ' +
  '`E-0` for epoch E\'s metrics, `E-1` and `E-2` for the queued and running status with E epochs done, `0-3` for the ' +
  'baseline, `(E-1)-(3+b)` for progress of epoch E after b batches, and, with E epochs done, `(E+1)-0` for the final ' +
  'status and `(E+1)-1` for the end. The end message always closes the WebSocket.';

// @fastify/websocket hides its routes from @fastify/swagger, so the document gets this
// path from here (see app.ts), written next to the route it describes.
export const jobEventsOpenApiPath = {
  '/jobs/{id}/events': {
    get: {
      'x-scope': 'train',
      summary: 'WebSocket stream of a job: status, progress, epoch metrics, then end.',
      description,
      tags: ['jobs'],
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'last-event-id', in: 'header', required: false, schema: { type: 'string' }, description: 'Event stream: resume after this event.' },
        { name: 'lastEventId', in: 'query', required: false, schema: { type: 'string' }, description: 'Either transport: resume after this event (the header wins when both are given).' },
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
          description: 'A Last-Event-ID or lastEventId that is not one of this stream\'s ids (refused before the upgrade).',
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

const eventFrame = (event: JobEvent) => `id: ${formatEventId(eventId(event))}\ndata: ${JSON.stringify(event)}\n\n`;
// The replay is in id order (snapshotEvents); what arrives live while it is gathered is put in order with it.
const byId = (a: JobEvent, b: JobEvent) => (isAfter(eventId(a), eventId(b)) ? 1 : isAfter(eventId(b), eventId(a)) ? -1 : 0);

const headersSchema = z.object({
  'last-event-id': z.string().max(100).optional().describe('Event stream: resume after this event.'),
});

const querySchema = z.object({
  lastEventId: z.string().max(100).optional().describe('Either transport: resume after this event.'),
});

// Where a client resumes: after the event its Last-Event-ID header (an EventSource reconnecting)
// or its lastEventId parameter names; undefined from the start. Throws 400 for what is not an id.
function resumePoint(request: FastifyRequest): EventId | undefined {
  const header = request.headers['last-event-id'];
  const query = (request.query as { lastEventId?: string }).lastEventId;
  const [where, text] = typeof header === 'string' ? ['headers.last-event-id', header] : ['querystring.lastEventId', query];
  if (text === undefined) return undefined;
  const after = parseEventId(text);
  if (!after) throw new ApiError('VALIDATION_FAILED', `${where}: ${JSON.stringify(text)} is not an event id of this stream (they read like 3-0)`);
  return after;
}

const jobEventRoutes: FastifyPluginAsyncZod<{ maxWatchersPerJob: number; heartbeatMs: number }> = async (app, options) => {
  const streams = eventStreams(app, { what: 'job', maxWatchers: options.maxWatchersPerJob, heartbeatMs: options.heartbeatMs });

  // The WebSocket: every event, replay then live, as JSON messages.
  const onWebSocket = (socket: WebSocket, request: FastifyRequest<{ Params: { id: string } }>) => {
    const { id } = request.params;
    const after = resumePoint(request);
    let unfollow = () => {};
    let closed = false;
    streams.accept(socket, request, () => {
      closed = true;
      unfollow();
    });
    const deliver = (event: JobEvent) => {
      if (!after || isAfter(eventId(event), after)) send(socket, event);
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
    const replay = snapshotEvents(job);
    const newer = (event: JobEvent) => !after || isAfter(eventId(event), after);
    // A finished job whose end the client has: 204 tells its EventSource to stop reconnecting.
    if (finishedStatuses.includes(job.status) && !replay.some(newer)) return reply.code(204).send();
    const { stream, buffered, following, respond } = streams.openEventStream(job.id, request, reply);
    // Only what is newer than what the client has, replayed or live (a job resumed after a
    // restart repeats the positions of its unfinished stretch).
    let last = after;
    const deliver = (event: JobEvent) => {
      const id = eventId(event);
      // The end ends the stream even for a client that claims to be past it (a Last-Event-ID
      // beyond the job's position): nothing more can come.
      if (last && !isAfter(id, last)) return event.type === 'end' ? void stream.end() : undefined;
      if (buffered() > DROP_CLIENT_BYTES) return stream.end();
      if (event.type === 'progress' && buffered() > SKIP_PROGRESS_BYTES) return;
      last = id;
      stream.write(eventFrame(event));
      if (event.type === 'end') stream.end();
    };
    // The replay (and whatever follows it before following is set up) in id order, then live.
    let held: JobEvent[] | undefined = [];
    const stop = await app.jobs.follow(job.id, undefined, (event) => (held ? held.push(event) : deliver(event)));
    const replayed = held.sort(byId);
    held = undefined;
    for (const event of replayed) deliver(event);
    if (!stop) stream.end();
    else following(stop);
    return respond();
  };

  app.route({
    method: 'GET',
    url: '/jobs/:id/events',
    config: { scope: 'train', owner: 'job' },
    // Documented by jobEventsOpenApiPath (a WebSocket route has no place in the generated document).
    schema: { hide: true, params: jobParamsSchema, headers: headersSchema, querystring: querySchema },
    // Unknown jobs, a resume point that is not an id and one watcher too many are refused before
    // the upgrade or the stream.
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      if (!(await app.jobs.get(id))) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
    },
    preHandler: async (request) => {
      resumePoint(request);
      await streams.admit(request.params.id, request);
    },
    onResponse: (request, _reply, done) => {
      streams.answered(request);
      done();
    },
    wsHandler: onWebSocket,
    handler: async (request, reply) => {
      const after = resumePoint(request);
      const job = await app.jobs.get(request.params.id);
      if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${request.params.id}`);
      return onEventStream(job, after, request, reply);
    },
  });
};

export default jobEventRoutes;
