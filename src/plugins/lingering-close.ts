import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// An answer sent before the request's body has arrived in full (a PNG refused by its length, a
// body of the wrong type, Fastify's 413) ends its connection. Node's HTTP server then destroys the
// socket as soon as the answer is out, with the rest of the body unread, and closing a socket with
// unread bytes makes the kernel reset the connection: the client, still sending, meets EPIPE or
// ECONNRESET and can lose the answer it had not read yet (RFC 9112 §9.6; the "lingering close" of
// Apache and nginx). So such a socket is half-closed instead: the answer and a FIN go out, the rest
// of the body is read and thrown away (Node's parser counts the bytes, nothing more), and a client
// still sending after LINGER_MS is cut off, having had that long to read its answer.
export const LINGER_MS = 2_000;

export default fp(async function lingeringClose(app: FastifyInstance, options: { requestTimeoutMs: number }) {
  // Within the request timeout, whose 408 would otherwise follow the answer on the same socket.
  const lingerMs = Math.min(LINGER_MS, Math.floor(options.requestTimeoutMs / 2));
  app.addHook('onSend', (request, _reply, payload, done) => {
    const socket = request.raw.socket as (Socket & { destroySoon?: () => void }) | null;
    // Node's HTTP server ends a connection it will not keep with socket.destroySoon().
    if (!request.raw.complete && socket && typeof socket.destroySoon === 'function') {
      socket.destroySoon = function lingerThenDestroy(this: Socket) {
        if (this.writable) this.end();
        const cutOff = setTimeout(() => this.destroy(), lingerMs);
        this.once('close', () => clearTimeout(cutOff));
      };
    }
    done(null, payload);
  });
});
