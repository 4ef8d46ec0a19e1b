// Clients of an event stream (a job's or a sweep's) that only want to know whether they were let
// in: a WebSocket, or a Server-Sent Events GET. Not a test file.
import http from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';

export interface Admission {
  transport: 'websocket' | 'sse';
  // 101 (WebSocket open), 200 (event stream), or the refusal's status.
  status: number;
  // The refusal's error code (429: TOO_MANY_WATCHERS).
  code?: string;
  // Closes the client (nothing when it was refused); resolves once its connection is closed.
  close(): Promise<void>;
}

const closedAlready = async () => {};

function readJson(response: http.IncomingMessage): Promise<{ error?: { code?: string } }> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve({});
      }
    });
  });
}

export function connectWebSocket(url: string): Promise<Admission> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'));
    socket.once('open', () => {
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      resolve({ transport: 'websocket', status: 101, close: () => (socket.close(), closed) });
    });
    socket.once('unexpected-response', (_request, response) => {
      void readJson(response).then((body) => {
        resolve({ transport: 'websocket', status: response.statusCode!, code: body.error?.code, close: closedAlready });
        socket.terminate();
      });
    });
    socket.once('error', (error) => reject(error));
  });
}

// An event stream is let in once its headers come (the route sends them at once).
export function connectEventStream(url: string): Promise<Admission> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        void readJson(response).then((body) => resolve({ transport: 'sse', status: response.statusCode!, code: body.error?.code, close: closedAlready }));
        return;
      }
      response.resume();
      const closed = new Promise<void>((done) => response.socket.once('close', () => done()));
      resolve({ transport: 'sse', status: 200, close: () => (request.destroy(), closed) });
    });
    request.once('error', reject);
  });
}

// `count` clients at once, alternately WebSocket and event stream, over the given bases (replicas) in turn.
export function connectMany(bases: string[], path: string, count: number): Promise<Admission[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => {
    const url = `${bases[i % bases.length]}${path}`;
    return Math.floor(i / bases.length) % 2 === 0 ? connectWebSocket(url) : connectEventStream(url);
  }));
}

export const admitted = (clients: Admission[]) => clients.filter((client) => client.status === 101 || client.status === 200);

// Asks for the upgrade (or the event stream) and drops the connection `afterMs` later.
export function hangUp(base: string, path: string, upgrade: boolean, afterMs: number): Promise<void> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      const headers = upgrade ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${headers}\r\n`);
      setTimeout(() => socket.destroy(), afterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}
