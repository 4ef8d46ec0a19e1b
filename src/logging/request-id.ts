import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// A caller's id is echoed and logged only if it is short and plain: a 12 KB or multi-line id
// would be repeated into every response and log line of the request (and could forge log
// entries); anything else gets an id of our own.
const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && acceptable.test(given) ? given : randomUUID();
}
