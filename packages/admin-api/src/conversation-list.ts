import { Prisma, type Db } from "@cb/db";
import type { Static } from "typebox";
import { pageSize, readCursor, toPageBy, UUID, type PageQuery } from "./pagination.ts";
import { conversationView, type ConversationSummary } from "./schemas.ts";

export interface ConversationFilter {
  tenantId: string;
  id?: string | undefined;
  channelAccountId?: string | undefined;
  channel?: string | undefined;
  externalId?: string | undefined;
  mode?: string | undefined;
  assignee?: string | undefined;
  /** Part of the customer's name, username or ids, or of any message's text (3 characters or more). */
  q?: string | undefined;
}

interface Row {
  id: string;
  channelAccountId: string;
  channel: string;
  externalId: string;
  lastInboundAt: Date | null;
  mode: string;
  assignee: string | null;
  handoffId: string | null;
  handoffReason: string | null;
  handoffAt: Date | null;
  createdAt: Date;
  lastActivityAt: Date;
  customerName: string | null;
  customerUsername: string | null;
  customerExternalId: string | null;
  messageId: string | null;
  messageDirection: string | null;
  messageText: string | null;
  messageAt: Date | null;
}

// The same expression as the trigram index Conversation_customer_trgm_idx (migration
// 20261207020000_live_updates), so that the index answers it.
const CUSTOMER_TEXT = Prisma.sql`(COALESCE(c."customerName", '') || ' ' || COALESCE(c."customerUsername", '') || ' ' || COALESCE(c."customerExternalId", '') || ' ' || c."externalId")`;

/** ILIKE's wildcards in the caller's text match themselves. */
const containing = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** What every list query asks, search aside. */
function conditions(filter: ConversationFilter, cursor?: [Date, string]): Prisma.Sql[] {
  const where = [Prisma.sql`c."tenantId" = ${filter.tenantId}::uuid`];
  if (filter.id) where.push(Prisma.sql`c.id = ${filter.id}::uuid`);
  if (filter.channelAccountId) where.push(Prisma.sql`c."channelAccountId" = ${filter.channelAccountId}::uuid`);
  if (filter.channel) where.push(Prisma.sql`a.channel = ${filter.channel}`);
  if (filter.externalId) where.push(Prisma.sql`c."externalId" = ${filter.externalId}`);
  if (filter.mode) where.push(Prisma.sql`c.mode = ${filter.mode}`);
  if (filter.assignee) where.push(Prisma.sql`c.assignee = ${filter.assignee}`);
  if (cursor) {
    const [at, id] = cursor;
    // The first condition bounds the index scan; the second drops the ties already shown.
    where.push(Prisma.sql`c."lastActivityAt" <= ${at} AND (c."lastActivityAt" < ${at} OR c.id < ${id}::uuid)`);
  }
  return where;
}

/**
 * How a search runs. `walk`: the newest conversations in order, each tested (its customer, then its
 * messages through their conversation index), stopping at a page of matches: fast when many match.
 * `index`: every match found through the two trigram indexes, then ordered: fast when few do.
 */
type SearchBy = "walk" | "index";

/** How many of the newest conversations a walk tests before the indexes take over. */
const WALK = 1000;

function matches(filter: ConversationFilter & { q: string }, by: SearchBy): Prisma.Sql {
  const pattern = containing(filter.q);
  // OFFSET 0 keeps the walk's EXISTS a test per conversation: without it PostgreSQL may hash the
  // subquery, reading every matching message first (233 ms rather than 1.3 ms at 100,000).
  if (by === "walk")
    return Prisma.sql`(${CUSTOMER_TEXT} ILIKE ${pattern}
      OR EXISTS (SELECT 1 FROM "Message" m WHERE m."conversationId" = c.id AND (m.content->>'text') ILIKE ${pattern} OFFSET 0))`;
  return Prisma.sql`c.id IN (
    SELECT c.id FROM "Conversation" c WHERE c."tenantId" = ${filter.tenantId}::uuid AND ${CUSTOMER_TEXT} ILIKE ${pattern}
    UNION
    SELECT m."conversationId" FROM "Message" m WHERE m."tenantId" = ${filter.tenantId}::uuid AND (m.content->>'text') ILIKE ${pattern})`;
}

async function select(
  db: Db,
  filter: ConversationFilter,
  take: number,
  cursor?: [Date, string],
  by: SearchBy = "index",
): Promise<Row[]> {
  const where = conditions(filter, cursor);
  const { q } = filter;
  const newest = q && by === "walk";
  // A walk tests only the newest WALK of the conversations the other filters leave.
  const source = newest
    ? Prisma.sql`(SELECT c.* FROM "Conversation" c JOIN "ChannelAccount" a ON a.id = c."channelAccountId"
        WHERE ${Prisma.join(where, " AND ")} ORDER BY c."lastActivityAt" DESC, c.id DESC LIMIT ${WALK}) c`
    : Prisma.sql`"Conversation" c`;
  const test = q ? [matches({ ...filter, q }, by)] : [];
  return db.$queryRaw<Row[]>`
    SELECT c.id, c."channelAccountId", a.channel, c."externalId", c."lastInboundAt", c.mode, c.assignee,
      c."handoffId", c."handoffReason", c."handoffAt", c."createdAt", c."lastActivityAt",
      c."customerName", c."customerUsername", c."customerExternalId",
      m.id AS "messageId", m.direction AS "messageDirection", m."createdAt" AS "messageAt",
      left(COALESCE(m.content->>'text', m.content->'postback'->>'title', m.content->'media'->0->>'caption'), 200) AS "messageText"
    FROM ${source}
    JOIN "ChannelAccount" a ON a.id = c."channelAccountId"
    LEFT JOIN "Message" m ON m.id = c."lastMessageId"
    WHERE ${Prisma.join(newest ? test : [...where, ...test], " AND ")}
    ORDER BY c."lastActivityAt" DESC, c.id DESC
    LIMIT ${take}`;
}

export function summaryView(row: Row): Static<typeof ConversationSummary> {
  return {
    ...conversationView(row),
    channel: row.channel,
    customer: {
      name: row.customerName,
      username: row.customerUsername,
      externalId: row.customerExternalId ?? row.externalId,
    },
    lastMessage:
      row.messageId && row.messageAt
        ? {
            id: row.messageId,
            direction: row.messageDirection === "out" ? "out" : "in",
            text: row.messageText,
            at: row.messageAt.toISOString(),
          }
        : null,
    lastMessageAt: row.messageAt ? row.messageAt.toISOString() : null,
    lastActivityAt: row.lastActivityAt.toISOString(),
  };
}

/**
 * The console's conversation list: newest activity first, keyset-paginated on (lastActivityAt, id).
 * A conversation whose activity moves while an operator pages moves to the top of the list: it may
 * be seen twice or not at all across pages, as in any inbox; the live stream tells of it.
 */
export async function listConversations(db: Db, filter: ConversationFilter, query: PageQuery) {
  const take = pageSize(query);
  const cursor = query.cursor ? readCursor(query.cursor, UUID) : undefined;
  // A search walks the newest conversations first; when they hold less than a page of matches
  // (a rare term), the trigram indexes find the rest.
  let rows = await select(db, filter, take + 1, cursor, filter.q ? "walk" : "index");
  if (filter.q && rows.length <= take) rows = await select(db, filter, take + 1, cursor, "index");
  return toPageBy(rows, query, summaryView, (row) => row.lastActivityAt);
}

/** One conversation as the list shows it, or undefined. */
export async function findConversation(db: Db, tenantId: string, id: string) {
  const [row] = await select(db, { tenantId, id }, 1);
  return row ? summaryView(row) : undefined;
}
