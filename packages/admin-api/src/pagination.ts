import { HttpError } from "@cb/core";
import { Type, type Static } from "typebox";

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ description: "nextCursor of the previous page" })),
});
export type PageQuery = Static<typeof PageQuery>;

export const page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Row ids as the tables hold them: UUIDs, but for API keys' short random ids. */
const IDS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  key: /^[A-Za-z0-9_-]{1,64}$/,
};
export type IdKind = keyof typeof IDS;
const LATEST = Date.UTC(10_000, 0, 1);

/** The (createdAt, id) a cursor names; anything but a cursor this API issued is a 400. */
function parseCursor(cursor: string, idKind: IdKind): [string, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    parsed = undefined;
  }
  const [createdAt, id] = Array.isArray(parsed) ? parsed : [];
  const at = typeof createdAt === "string" ? Date.parse(createdAt) : Number.NaN;
  // Rows are stamped by this century's clocks; PostgreSQL's range is narrower than JavaScript's.
  if (!(at >= 0 && at < LATEST) || typeof id !== "string" || !IDS[idKind].test(id))
    throw new HttpError(400, "invalid_cursor", "cursor is not one this API issued");
  return [createdAt, id];
}

/**
 * Cursor pagination, newest first, stable under inserts: the cursor names the last row seen by
 * (createdAt, id) and the next page starts strictly after it.
 */
export function pageArgs(query: PageQuery, idKind: IdKind = "uuid") {
  const take = query.limit ?? 50;
  // ajv coerces "1e309" to Infinity and lets it through `maximum`.
  if (!Number.isSafeInteger(take))
    throw new HttpError(400, "validation_failed", "querystring/limit must be an integer");
  if (!query.cursor)
    return { take: take + 1, where: {}, orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }] };
  const [createdAt, id] = parseCursor(query.cursor, idKind);
  const at = new Date(createdAt);
  return {
    take: take + 1,
    where: { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: id } }] },
    orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }],
  };
}

export function toPage<R extends { id: string; createdAt: Date }, T>(
  rows: R[],
  query: PageQuery,
  view: (row: R) => T,
): { data: T[]; nextCursor: string | null } {
  const take = query.limit ?? 50;
  const more = rows.length > take;
  const shown = rows.slice(0, take);
  const last = shown.at(-1);
  return {
    data: shown.map(view),
    nextCursor:
      more && last ? Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString("base64url") : null,
  };
}
