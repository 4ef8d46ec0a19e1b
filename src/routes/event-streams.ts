import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { WatcherSlot } from '../admission/watcher-slots.js';
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
// Policy violation too: the watcher's key was revoked.
export const CLOSE_KEY_REVOKED = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;

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

// The watchers of one kind of stream (`what`: "job", "sweep"). A watcher takes a slot before the
// upgrade or the stream (app.watchers: counted for the whole service, every replica in Redis mode),
// which its WebSocket or event stream holds while open and gives back when it closes; a request
// that ends before it becomes a watcher (answered otherwise, or its client went away) gives it back.
export function eventStreams(app: FastifyInstance, options: { what: string; maxWatchers: number; heartbeatMs: number }) {
  const admitted = new WeakMap<FastifyRequest, { slot: WatcherSlot; giveBack: () => void }>();
  // The request's slot, now the watcher's to release.
  const handOver = (request: FastifyRequest): WatcherSlot | undefined => {
    const entry = admitted.get(request);
    if (!entry) return undefined;
    admitted.delete(request);
    request.raw.socket?.off('close', entry.giveBack);
    return entry.slot;
  };
  const open = new Set<PassThrough>();
  // Open event streams end when the service closes (a client's EventSource then reconnects elsewhere).
  app.addHook('preClose', (done) => {
    for (const stream of open) stream.end();
    done();
  });
  // Watchers by the key they came with: a revoked key's streams end (here, and on every replica
  // once it hears of the revocation), and its reconnection is refused.
  const byKey = new Map<string, Set<() => void>>();
  const watchedWith = (request: FastifyRequest, end: () => void): (() => void) => {
    const keyId = request.access?.keyId;
    if (!keyId) return () => {};
    const ends = byKey.get(keyId) ?? new Set();
    byKey.set(keyId, ends.add(end));
    return () => {
      ends.delete(end);
      if (ends.size === 0) byKey.delete(keyId);
    };
  };
  app.keys.onRevoked((keyId) => {
    for (const end of byKey.get(keyId) ?? []) end();
  });

  return {
    // The last step before the upgrade or the stream: a slot for `id`, or one watcher too many
    // is refused (429, Retry-After).
    async admit(id: string, request: FastifyRequest): Promise<void> {
      const slot = await app.watchers.take(`${options.what}:${id}`, options.maxWatchers);
      if (!slot) {
        throw new ApiError('TOO_MANY_WATCHERS', `${options.what} ${id} already has ${options.maxWatchers} watchers (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
      const giveBack = () => handOver(request)?.release();
      admitted.set(request, { slot, giveBack });
      // (A request made with app.inject has no socket that closes; it always gets its answer.)
      const socket = request.raw.socket as Socket | undefined;
      if (socket?.destroyed) giveBack();
      else socket?.once('close', giveBack);
    },

    // The request was answered (onResponse): a slot that no watcher took over goes back.
    answered(request: FastifyRequest): void {
      handOver(request)?.release();
    },

    // A WebSocket watching: holds the request's slot while open; `onClose` runs once it closes.
    // The stream only sends: binary frames close it with 1003.
    accept(socket: WebSocket, request: FastifyRequest, onClose: () => void): void {
      const slot = handOver(request);
      const forget = watchedWith(request, () => socket.close(CLOSE_KEY_REVOKED, 'the key was revoked'));
      socket.on('close', () => {
        onClose();
        slot?.release();
        forget();
      });
      if (!slot) socket.close(CLOSE_INTERNAL_ERROR, 'the watcher was not admitted; reconnect');
      slot?.onLost(() => socket.close(CLOSE_TRY_AGAIN_LATER, 'this watcher lost its place; reconnect to resume'));
      socket.on('message', (_data, isBinary) => {
        if (isBinary) socket.close(CLOSE_UNSUPPORTED_DATA, 'this stream only sends; binary frames are not accepted');
      });
    },

    // A Server-Sent Events response watching `id`: holds the request's slot while open, a heartbeat comment every
    // heartbeatMs so that proxies keep it, ended at shutdown, destroyed when the client goes away.
    openEventStream(id: string, request: FastifyRequest, reply: FastifyReply): EventStream {
      const stream = new PassThrough();
      const slot = handOver(request);
      const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), options.heartbeatMs);
      let stop = () => {};
      open.add(stream);
      const forget = watchedWith(request, () => stream.end());
      stream.on('close', () => {
        clearInterval(heartbeat);
        stop();
        slot?.release();
        open.delete(stream);
        forget();
      });
      request.raw.on('close', () => stream.destroy());
      // Sent at once, so the client has its headers now; a dropped stream reconnects after a second.
      stream.write(`retry: ${RECONNECT_MS}\n: events of ${options.what} ${id}\n\n`);
      // Ended without its place, so that its EventSource reconnects (and is admitted again, or refused).
      if (!slot) stream.end();
      slot?.onLost(() => stream.end());
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
