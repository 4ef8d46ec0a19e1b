// The routes an app's router serves, as "METHOD /path" with :params, read from Fastify's route
// tree; and the operations of the document written the same way.
import type { FastifyInstance } from 'fastify';
import type { Operation } from './openapi-contract.js';

export const routeOf = (operation: Operation) => `${operation.method} ${operation.path.replace(/\{(\w+)\}/g, ':$1')}`;

// Every line of the radix tree app.printRoutes() draws is read: a node's path is its ancestors'
// pieces and its own, joined as they are (a line it cannot read throws, so no route goes unseen;
// the tree without common prefixes is not used: it draws /ui/* and /browser/* as one *). HEAD
// twins of GET routes, which Fastify adds by itself, are left out.
export function servedRoutes(app: FastifyInstance): string[] {
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) throw new Error(`a line of app.printRoutes() not understood: ${JSON.stringify(line)}`);
    const depth = match[1].length / 4;
    prefixes.length = depth;
    const path = prefixes.join('') + match[2];
    prefixes.push(match[2]);
    for (const method of (match[3] ?? '').split(', ').filter(Boolean).filter((m) => m !== 'HEAD')) routes.push(`${method} ${path}`);
  }
  return routes;
}
