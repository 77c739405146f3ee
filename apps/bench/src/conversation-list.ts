// The console's conversation list (GET /v1/conversations) at 100,000 conversations of one tenant,
// three messages each: the first page, a page deep into the list, and searches, through the route's
// own query (listConversations). Part of `npm run bench:queries`.
import { listConversations } from "@cb/admin-api";
import type { Db, Pool } from "@cb/db";

const CONVERSATIONS = 100_000;
const NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis"];
const SURNAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Ritchie"];
const WORDS = ["order", "parcel", "refund", "delivery", "invoice", "address", "hello", "thanks", "late", "broken"];

/** Seeds the tenant's conversations and messages in a few statements (the live trigger off while seeding). */
async function seed(pool: Pool, tenantId: string): Promise<void> {
  const {
    rows: [account],
  } = await pool.query<{ id: string }>(
    `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'list bench', 'x') RETURNING id`,
    [tenantId],
  );
  await pool.query(
    `INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId", mode, "createdAt")
     SELECT gen_random_uuid(), $1, $2, (100000000 + g)::text,
       CASE WHEN g % 50 = 0 THEN 'pending' WHEN g % 20 = 0 THEN 'human' ELSE 'bot' END,
       now() - interval '30 days' FROM generate_series(1, $3) g`,
    [tenantId, account!.id, CONVERSATIONS],
  );
  await pool.query(`ALTER TABLE "Message" DISABLE TRIGGER "Message_live_inserted"`);
  // Three messages a conversation: the customer's, the bot's answer, the customer's again; one
  // order number per conversation (A-<n>) in the first.
  await pool.query(
    `INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), c."tenantId", c."channelAccountId", c.id, k.direction, c."externalId" || ':' || k.n,
       CASE WHEN k.direction = 'in' THEN jsonb_build_object(
         'text', ($4::text[])[1 + (c.x + k.n) % 10] || ' ' || ($4::text[])[1 + (c.x * 7 + k.n) % 10] || CASE WHEN k.n = 1 THEN ' A-' || c.x ELSE '' END,
         'sender', jsonb_build_object('externalId', c."externalId", 'name', ($2::text[])[1 + c.x % 10] || ' ' || ($3::text[])[1 + (c.x / 10) % 9], 'username', 'user' || c.x))
       ELSE jsonb_build_object('type', 'text', 'text', 'We are looking into it') END,
       'processed', c.at + k.n * interval '1 minute', now()
     FROM (SELECT id, "tenantId", "channelAccountId", "externalId", ("externalId"::bigint - 100000000)::int AS x,
             now() - interval '30 days' + ("externalId"::bigint - 100000000) * interval '20 seconds' AS at
           FROM "Conversation" WHERE "tenantId" = $1) c
     CROSS JOIN (VALUES (1, 'in'), (2, 'out'), (3, 'in')) AS k(n, direction)`,
    [tenantId, NAMES, SURNAMES, WORDS],
  );
  await pool.query(`ALTER TABLE "Message" ENABLE TRIGGER "Message_live_inserted"`);
  // What the trigger would have kept, in one statement (as the migration's backfill).
  await pool.query(
    `UPDATE "Conversation" c SET "lastActivityAt" = l."createdAt", "lastMessageId" = l.id,
       "customerName" = l.name, "customerUsername" = l.username, "customerExternalId" = c."externalId"
     FROM (SELECT DISTINCT ON ("conversationId") "conversationId", id, "createdAt",
             (SELECT content->'sender'->>'name' FROM "Message" i WHERE i."conversationId" = m."conversationId" AND i.direction = 'in' LIMIT 1) AS name,
             (SELECT content->'sender'->>'username' FROM "Message" i WHERE i."conversationId" = m."conversationId" AND i.direction = 'in' LIMIT 1) AS username
           FROM "Message" m WHERE "tenantId" = $1 ORDER BY "conversationId", "createdAt" DESC, id DESC) l
     WHERE c.id = l."conversationId"`,
    [tenantId],
  );
  await pool.query(`VACUUM ANALYZE "Conversation"`);
  await pool.query(`VACUUM ANALYZE "Message"`);
}

/** Median wall time of `run` over `n` runs, after a few to warm up. */
async function median(run: () => Promise<{ data: unknown[] }>, n = 25): Promise<{ ms: number; rows: number }> {
  let rows = 0;
  for (let i = 0; i < 3; i++) rows = (await run()).data.length;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: Math.round(times[Math.floor(n / 2)]! * 100) / 100, rows };
}

export async function benchConversationList(db: Db, pool: Pool) {
  const { id: tenantId } = await db.tenant.create({ data: { name: "List bench" } });
  const seeding = performance.now();
  await seed(pool, tenantId);
  const seedS = Math.round((performance.now() - seeding) / 100) / 10;
  const list = (filter: Record<string, string>, cursor?: string) =>
    listConversations(db, { tenantId, ...filter }, { limit: 50, ...(cursor ? { cursor } : {}) });
  // The cursor of the 20th page (1,000 conversations in).
  let deep: string | undefined;
  for (let i = 0; i < 20; i++) deep = (await list({}, deep)).nextCursor ?? undefined;
  return {
    conversations: CONVERSATIONS,
    messages: CONVERSATIONS * 3,
    seedS,
    firstPage: await median(() => list({})),
    page21: await median(() => list({}, deep)),
    modePending: await median(() => list({ mode: "pending" })),
    searchOrderNumber: await median(() => list({ q: "A-54321" })),
    searchName: await median(() => list({ q: "Liskov" })),
    searchCommonWord: await median(() => list({ q: "refund" })),
  };
}
