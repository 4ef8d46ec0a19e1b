// A client of an app that checks every answer against openapi.yaml (openapi-contract.ts) as it
// comes, and records which operation answered with which status: a test then knows what the
// document promises that it never saw.
import { once } from 'node:events';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Contract, Operation } from './openapi-contract.js';

type Response = Awaited<ReturnType<FastifyInstance['inject']>>;

export interface EventStreamMessage {
  id?: string;
  data: unknown;
}

export interface OpenWebSocket {
  messages: unknown[];
  next(wanted: (message: unknown) => boolean): Promise<unknown>;
  closed: Promise<number>;
}

export interface Recorder {
  // app.inject, and the answer checked against the operation the request names.
  request(options: InjectOptions & { url: string }): Promise<Response>;
  // A Server-Sent Events GET read to its end: each `data:` is checked against the schema of the
  // messages the same operation documents for its WebSocket (101), which the document says they are.
  eventStream(url: string, headers?: Record<string, string>): Promise<{ response: Response; messages: EventStreamMessage[] }>;
  // A WebSocket of the operation: its messages as they come, the next one that is wanted, and
  // the close code once the server closes it (each message then checked the same way).
  openWebSocket(url: string): OpenWebSocket;
  // The same, read until the server closes it.
  webSocket(url: string): Promise<{ messages: unknown[]; code: number }>;
  // "GET /jobs/{id}" → the statuses seen.
  seen: Map<string, Set<number>>;
}

const fail = (problems: string[]) => {
  if (problems.length > 0) throw new Error(`answer outside openapi.yaml:\n${problems.join('\n')}`);
};

// `id:` and `data:` of each event in a text/event-stream body (comment lines skipped).
export function eventStreamMessages(body: string): EventStreamMessage[] {
  return body.split('\n\n').filter((frame) => /^data: /m.test(frame)).map((frame) => {
    const id = /^id: (.*)$/m.exec(frame)?.[1];
    const data = frame.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
    return { id, data: JSON.parse(data) };
  });
}

// (Recorders of several apps may share one `seen`; `headers` go with every request, a request's own
// headers win.)
export function recorder(app: FastifyInstance, contract: Contract, seen = new Map<string, Set<number>>(), headers: Record<string, string> = {}): Recorder {
  const record = (operation: Operation, status: number) => {
    if (!seen.has(operation.key)) seen.set(operation.key, new Set());
    seen.get(operation.key)!.add(status);
  };
  const operationOf = (method: string, url: string) => {
    const operation = contract.operationOf(method, url);
    if (!operation) throw new Error(`${method} ${url} is no operation of openapi.yaml`);
    return operation;
  };
  const messagePointer = (operation: Operation) => {
    const schema = operation.responses['101']?.content?.['application/json']?.schema as { $ref?: string } | undefined;
    if (!schema?.$ref) throw new Error(`${operation.key} documents no WebSocket (101) messages`);
    return schema.$ref;
  };
  const checkMessages = (operation: Operation, messages: unknown[]) =>
    fail(messages.flatMap((message, index) => contract.schemaProblems(messagePointer(operation), message).map((problem) => `${operation.key} message ${index}: ${problem}`)));

  const request = async (options: InjectOptions & { url: string }) => {
    const method = String(options.method ?? 'GET').toUpperCase();
    const operation = operationOf(method, options.url);
    const response = await app.inject({ ...options, headers: { ...headers, ...(options.headers as Record<string, string> | undefined) } });
    fail(contract.problems(operation, { statusCode: response.statusCode, headers: response.headers, body: response.rawPayload }));
    // A JSON body the service took must be one the document takes too.
    const { payload } = options;
    const json = payload !== undefined && typeof payload === 'object' && !Buffer.isBuffer(payload) && !('pipe' in payload);
    if (json && response.statusCode < 300) fail(contract.requestProblems(operation, payload));
    record(operation, response.statusCode);
    return response;
  };

  const eventStream = async (url: string, extra: Record<string, string> = {}) => {
    const response = await request({ method: 'GET', url, headers: { accept: 'text/event-stream', ...extra } });
    const messages = response.statusCode === 200 ? eventStreamMessages(response.body) : [];
    checkMessages(operationOf('GET', url), messages.map((message) => message.data));
    return { response, messages };
  };

  // Listeners go on before the upgrade completes (the replay is sent at once); the messages are
  // checked once the server has closed the socket.
  const openWebSocket = (url: string): OpenWebSocket => {
    const operation = operationOf('GET', url);
    const messages: unknown[] = [];
    const waiting: Array<{ wanted: (message: unknown) => boolean; resolve: (message: unknown) => void }> = [];
    let socketClosed: Promise<unknown[]> | undefined;
    const opened = app.injectWS(url, { headers }, {
      onInit: (socket) => {
        socketClosed = once(socket, 'close');
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          messages.push(message);
          for (const waiter of waiting.filter(({ wanted }) => wanted(message))) {
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.resolve(message);
          }
        });
      },
    });
    const closed = opened.then(async () => {
      record(operation, 101);
      const [code] = (await socketClosed!) as [number];
      checkMessages(operation, messages);
      return code;
    });
    const next = (wanted: (message: unknown) => boolean) => {
      const earlier = messages.find(wanted);
      if (earlier !== undefined) return Promise.resolve(earlier);
      return new Promise<unknown>((resolve, reject) => {
        waiting.push({ wanted, resolve });
        closed.then(() => reject(new Error(`${url} closed before the message awaited`)), reject);
      });
    };
    return { messages, next, closed };
  };

  const webSocket = async (url: string) => {
    const socket = openWebSocket(url);
    return { messages: socket.messages, code: await socket.closed };
  };

  return { request, eventStream, openWebSocket, webSocket, seen };
}
