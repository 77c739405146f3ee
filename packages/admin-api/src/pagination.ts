import { HttpError } from "@cb/core";
import { Type, type Static } from "typebox";

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ description: "nextCursor of the previous page" })),
});
export type PageQuery = Static<typeof PageQuery>;

export const page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The (time, id) a cursor names; a forged one is refused here, not by the database as a 500. */
export function readCursor(cursor: string, id: RegExp = UUID): [Date, string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    value = undefined;
  }
  const [createdAt, lastId] = Array.isArray(value) && value.length === 2 ? value : [];
  const at = typeof createdAt === "string" && ISO_TIME.test(createdAt) ? new Date(createdAt) : undefined;
  if (!at || Number.isNaN(at.getTime()) || typeof lastId !== "string" || !id.test(lastId))
    throw new HttpError(400, "invalid_cursor", "cursor is not one this API issued");
  return [at, lastId];
}

/** How many rows a page shows. */
export function pageSize(query: PageQuery): number {
  const take = query.limit ?? 50;
  // ajv coerces "1e309" to Infinity and lets it through `maximum`.
  if (!Number.isSafeInteger(take))
    throw new HttpError(400, "validation_failed", "querystring/limit must be an integer");
  return take;
}

/**
 * Cursor pagination, newest first, stable under inserts: the cursor names the last row seen by
 * (createdAt, id) and the next page starts strictly after it. `id` is the form of the table's ids
 * (UUIDs unless said).
 */
export function pageArgs(query: PageQuery, id: RegExp = UUID) {
  const take = pageSize(query);
  if (!query.cursor)
    return { take: take + 1, where: {}, orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }] };
  const [at, lastId] = readCursor(query.cursor, id);
  return {
    take: take + 1,
    where: { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: lastId } }] },
    orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }],
  };
}

/**
 * A page of `take + 1` rows fetched: the first `take`, and a cursor naming the last of them by its
 * ordering time (`at`) and id when there are more.
 */
export function toPageBy<R extends { id: string }, T>(
  rows: R[],
  query: PageQuery,
  view: (row: R) => T,
  at: (row: R) => Date,
): { data: T[]; nextCursor: string | null } {
  const take = query.limit ?? 50;
  const more = rows.length > take;
  const shown = rows.slice(0, take);
  const last = shown.at(-1);
  return {
    data: shown.map(view),
    nextCursor: more && last ? cursorAt(at(last), last.id) : null,
  };
}

/** A page of a list ordered by creation (pageArgs). */
export const toPage = <R extends { id: string; createdAt: Date }, T>(
  rows: R[],
  query: PageQuery,
  view: (row: R) => T,
) => toPageBy(rows, query, view, (row) => row.createdAt);

/** The cursor naming a row by its time and id (what readCursor reads back). */
export const cursorAt = (at: Date, id: string) =>
  Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
