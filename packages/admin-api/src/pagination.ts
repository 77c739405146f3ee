import { HttpError } from "@cb/core";
import { Type, type Static } from "typebox";

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ description: "nextCursor of the previous page" })),
});
export type PageQuery = Static<typeof PageQuery>;

export const page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/**
 * Cursor pagination, newest first, stable under inserts: the cursor names the last row seen by
 * (createdAt, id) and the next page starts strictly after it.
 */
export function pageArgs(query: PageQuery) {
  const take = query.limit ?? 50;
  if (!query.cursor)
    return { take: take + 1, where: {}, orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }] };
  let createdAt: string, id: string;
  try {
    [createdAt, id] = JSON.parse(Buffer.from(query.cursor, "base64url").toString());
  } catch {
    throw new HttpError(400, "invalid_cursor", "cursor is not one this API issued");
  }
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
