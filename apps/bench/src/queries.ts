// `npm run bench:queries`: the CPU one query costs through Prisma's client (query compiler, driver
// adapter) and through pg directly, on the same pool. Why the hot paths speak SQL (Sql in @cb/db).
// Then the console's conversation list at 100,000 conversations (conversation-list.ts).
import { createDb, createPool } from "@cb/db";
import { benchConversationList } from "./conversation-list.ts";
import { benchDatabase } from "./database.ts";

const database = await benchDatabase();
const pool = createPool(database.url);
const db = createDb(pool);
const { id, name } = await db.tenant.create({ data: { name: "Bench" } });

async function cost(run: () => Promise<unknown>, n = 2000): Promise<{ cpuMs: number; wallMs: number }> {
  for (let i = 0; i < 200; i++) await run();
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(cpu);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { cpuMs: round((used.user + used.system) / 1000 / n), wallMs: round((performance.now() - start) / n) };
}

const figures = {
  prismaFindUnique: await cost(() => db.tenant.findUnique({ where: { id } })),
  prismaQueryRaw: await cost(() => db.$queryRaw`SELECT * FROM "Tenant" WHERE id = ${id}::uuid`),
  pgQuery: await cost(() => pool.query(`SELECT * FROM "Tenant" WHERE id = $1::uuid`, [id])),
  prismaTransaction2Updates: await cost(() =>
    db.$transaction(async (tx) => {
      await tx.tenant.update({ where: { id }, data: { name } });
      await tx.tenant.update({ where: { id }, data: { name } });
    }),
  ),
  pgTransaction2Updates: await cost(async () => {
    const client = await pool.connect();
    await client.query("BEGIN");
    await client.query(`UPDATE "Tenant" SET name = $2 WHERE id = $1::uuid`, [id, name]);
    await client.query(`UPDATE "Tenant" SET name = $2 WHERE id = $1::uuid`, [id, name]);
    await client.query("COMMIT");
    client.release();
  }),
};
const conversationList = await benchConversationList(db, pool);
await db.$disconnect();
await pool.end();
await database.drop();
console.log(JSON.stringify({ ...figures, conversationList }));
console.log(
  `one query: Prisma ${figures.prismaFindUnique.cpuMs} ms CPU, Prisma raw ${figures.prismaQueryRaw.cpuMs} ms, pg ${figures.pgQuery.cpuMs} ms; a transaction of two updates: Prisma ${figures.prismaTransaction2Updates.cpuMs} ms, pg ${figures.pgTransaction2Updates.cpuMs} ms`,
);
const { firstPage, page21, searchOrderNumber, searchName, searchCommonWord } = conversationList;
console.log(
  `conversation list, ${conversationList.conversations} conversations: first page ${firstPage.ms} ms, page 21 ${page21.ms} ms; search: an order number ${searchOrderNumber.ms} ms, a surname ${searchName.ms} ms, a common word ${searchCommonWord.ms} ms (medians)`,
);
