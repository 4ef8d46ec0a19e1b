import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { ApiError } from '../errors.js';

// What every event stream (a job's, a sweep's) does the same way, over a WebSocket or as
// Server-Sent Events: a limit of watchers per id, flow control, heartbeats, and an end at shutdown.

// A client this far behind misses progress messages (they are superseded by the next one);
// one this far behind is cut off, so it can never hold memory or slow anyone down.
export const SKIP_PROGRESS_BYTES = 256 * 1024;
export const DROP_CLIENT_BYTES = 8 * 1024 * 1024;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_TOO_SLOW = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;

// How long an EventSource waits before it reconnects (its default is 3 s).
export const RECONNECT_MS = 1000;

// Sends one stream message, dropping progress for a client that lags and cutting off one
// that lags far.
export function send(socket: WebSocket, event: { type: string }): void {
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount > DROP_CLIENT_BYTES) {
    socket.close(CLOSE_TOO_SLOW, 'client too slow to keep up with the event stream');
    return;
  }
  if (event.type === 'progress' && socket.bufferedAmount > SKIP_PROGRESS_BYTES) return;
  socket.send(JSON.stringify(event));
}

// @fastify/websocket's preClose, replaced so that watchers learn why the stream ends (its
// default closes without a code, which clients see as 1005).
export function closeStreamsOnShutdown(this: FastifyInstance, done: () => void): void {
  for (const client of this.websocketServer.clients) client.close(CLOSE_GOING_AWAY, 'service shutting down');
  this.websocketServer.close();
  done();
}

// One Server-Sent Events response being written.
export interface EventStream {
  stream: PassThrough;
  // Bytes written and not yet taken by the client.
  buffered(): number;
  // Hands over what stops following the events: called when the stream closes (at once if it has).
  following(stop: () => void): void;
  // The response, with the event-stream headers.
  respond(): FastifyReply;
}

// The watchers of one kind of stream (`what`: "job", "sweep"), in one app.
export function eventStreams(app: FastifyInstance, options: { what: string; maxWatchers: number; heartbeatMs: number }) {
  const watchers = new Map<string, number>();
  const watch = (id: string) => {
    watchers.set(id, (watchers.get(id) ?? 0) + 1);
    return () => {
      const remaining = (watchers.get(id) ?? 1) - 1;
      if (remaining > 0) watchers.set(id, remaining);
      else watchers.delete(id);
    };
  };
  const open = new Set<PassThrough>();
  // Open event streams end when the service closes (a client's EventSource then reconnects elsewhere).
  app.addHook('preClose', (done) => {
    for (const stream of open) stream.end();
    done();
  });

  return {
    // Before the upgrade or the stream: one watcher too many is refused (429, Retry-After).
    refuseBeyondLimit(id: string): void {
      if ((watchers.get(id) ?? 0) < options.maxWatchers) return;
      throw new ApiError('TOO_MANY_WATCHERS', `${options.what} ${id} already has ${options.maxWatchers} watchers (the limit); retry later`,
        undefined, { 'retry-after': '5' });
    },

    // A WebSocket watching `id`: counted while open; `onClose` runs once it closes. The stream only
    // sends: binary frames close it with 1003.
    accept(socket: WebSocket, id: string, onClose: () => void): void {
      const unwatch = watch(id);
      socket.on('close', () => {
        onClose();
        unwatch();
      });
      socket.on('message', (_data, isBinary) => {
        if (isBinary) socket.close(CLOSE_UNSUPPORTED_DATA, 'this stream only sends; binary frames are not accepted');
      });
    },

    // A Server-Sent Events response watching `id`: counted while open, a heartbeat comment every
    // heartbeatMs so that proxies keep it, ended at shutdown, destroyed when the client goes away.
    openEventStream(id: string, request: FastifyRequest, reply: FastifyReply): EventStream {
      const stream = new PassThrough();
      const unwatch = watch(id);
      const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), options.heartbeatMs);
      let stop = () => {};
      open.add(stream);
      stream.on('close', () => {
        clearInterval(heartbeat);
        stop();
        unwatch();
        open.delete(stream);
      });
      request.raw.on('close', () => stream.destroy());
      // Sent at once, so the client has its headers now; a dropped stream reconnects after a second.
      stream.write(`retry: ${RECONNECT_MS}\n: events of ${options.what} ${id}\n\n`);
      return {
        stream,
        buffered: () => stream.writableLength + stream.readableLength + reply.raw.writableLength,
        following(unfollow) {
          if (stream.writable) stop = unfollow;
          else unfollow();
        },
        respond: () =>
          reply
            .header('content-type', 'text/event-stream; charset=utf-8')
            .header('cache-control', 'no-cache')
            // Proxies that buffer responses (nginx) pass this one on as it comes.
            .header('x-accel-buffering', 'no')
            .send(stream),
      };
    },
  };
}
