import { ApiError } from '../errors.js';

// Cursor pagination over a newest-first list: the cursor is the opaque (base64url) id of
// the last item of the previous page.
export function paginate<T extends { id: string }>(items: T[], limit: number, cursor?: string): { page: T[]; nextCursor: string | null } {
  let start = 0;
  if (cursor !== undefined) {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    const index = items.findIndex((item) => item.id === id);
    if (index < 0) throw new ApiError('INVALID_CURSOR', 'cursor is not one this service issued (or its item is gone); start again without it');
    start = index + 1;
  }
  const page = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return { page, nextCursor: more ? Buffer.from(page[page.length - 1].id, 'utf8').toString('base64url') : null };
}
