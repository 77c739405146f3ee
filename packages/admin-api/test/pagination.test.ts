import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HttpError } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { KEY_ID, newKey } from "../src/keys.ts";
import { pageArgs, toPage, type PageQuery } from "../src/pagination.ts";

let t: TestDatabase;
let tenantId: string;

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  // Seven intents, three of them created at the very same instant (ties are broken by id).
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n));
  for (const [n, second] of [1, 2, 3, 3, 3, 4, 5].entries()) {
    await t.db.intent.create({ data: { tenantId, name: `intent-${n}`, examples: [], createdAt: at(second) } });
  }
});
after(() => t.drop());

async function intentsPage(query: PageQuery) {
  const args = pageArgs(query);
  const rows = await t.db.intent.findMany({ ...args, where: { ...args.where, tenantId } });
  return toPage(rows, query, (row) => row.name);
}
const newestFirst = async () =>
  (await t.db.intent.findMany({ where: { tenantId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] })).map(
    (r) => r.name,
  );
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

test("pages run newest first, each row once, ties broken by id, until nextCursor is null", async () => {
  const seen: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await intentsPage({ limit: 3, ...(cursor ? { cursor } : {}) });
    seen.push(...page.data);
    sizes.push(page.data.length);
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.deepEqual(seen, await newestFirst());

  const exact = await intentsPage({ limit: 7 });
  assert.equal(exact.data.length, 7);
  assert.equal(exact.nextCursor, null, "no empty last page when the rows end exactly");
});

test("a page boundary inside a group of equal times neither repeats nor skips", async () => {
  const all = await newestFirst();
  for (let limit = 1; limit <= 6; limit++) {
    const first = await intentsPage({ limit });
    const rest = await intentsPage({ limit: 50, cursor: first.nextCursor! });
    assert.deepEqual([...first.data, ...rest.data], all, `limit ${limit}`);
  }
});

test("pages are stable under inserts: a row added meanwhile is newer, and shifts nothing", async () => {
  const first = await intentsPage({ limit: 2 });
  const added = await t.db.intent.create({ data: { tenantId, name: "added", examples: [] } });
  try {
    const rest = await intentsPage({ limit: 50, cursor: first.nextCursor! });
    assert.deepEqual(
      [...first.data, ...rest.data],
      (await newestFirst()).filter((n) => n !== "added"),
    );
  } finally {
    await t.db.intent.delete({ where: { id: added.id } });
  }
});

test("fifty rows a page unless asked otherwise", async () => {
  assert.equal(pageArgs({}).take, 51, "one more than shown, to know whether there is a next page");
  assert.equal(pageArgs({ limit: 3 }).take, 4);
  const rows = Array.from({ length: 51 }, (_, n) => ({ id: String(n), createdAt: new Date(Date.UTC(2026, 0, 1)) }));
  const page = toPage(rows, {}, (row) => row.id);
  assert.equal(page.data.length, 50);
  assert.deepEqual(JSON.parse(Buffer.from(page.nextCursor!, "base64url").toString()), [
    "2026-01-01T00:00:00.000Z",
    "49",
  ]);
  assert.equal(toPage(rows.slice(0, 50), {}, (row) => row.id).nextCursor, null);
  assert.equal(toPage([], {}, (row) => row).nextCursor, null);
});

test("a cursor this API did not issue is a 400, and never reaches the database as a query it cannot run", async () => {
  const forged = [
    "not base64 json!",
    cursorOf(null),
    cursorOf({ createdAt: "2026-01-01T00:00:00.000Z" }),
    cursorOf(["2026-01-01T00:00:00.000Z"]),
    cursorOf(["2026-01-01T00:00:00.000Z", "00000000-0000-4000-8000-000000000000", "extra"]),
    cursorOf(["yesterday", "00000000-0000-4000-8000-000000000000"]),
    cursorOf([1767225600000, "00000000-0000-4000-8000-000000000000"]),
    cursorOf(["2026-01-01T00:00:00.000Z", 7]),
    cursorOf(["2026-01-01T00:00:00.000Z", "not-a-uuid"]),
  ];
  for (const cursor of forged) {
    await assert.rejects(
      intentsPage({ cursor }),
      (err: unknown) =>
        err instanceof HttpError &&
        err.statusCode === 400 &&
        err.code === "invalid_cursor" &&
        err.message === "cursor is not one this API issued",
      cursor,
    );
  }
});

test("tables keyed otherwise than by UUID (API keys) name their id's form", async () => {
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) {
    const key = newKey();
    ids.push(key.id);
    await t.db.apiKey.create({
      data: { id: key.id, tenantId, name: `k${n}`, scopes: [], secretHash: key.hash, hint: "…" },
    });
  }
  const first = pageArgs({ limit: 2 }, KEY_ID);
  const rows = await t.db.apiKey.findMany({ ...first, where: { ...first.where, tenantId } });
  const page = toPage(rows, { limit: 2 }, (row) => row.id);
  const next = pageArgs({ cursor: page.nextCursor! }, KEY_ID);
  const rest = await t.db.apiKey.findMany({ ...next, where: { ...next.where, tenantId } });
  assert.deepEqual([...page.data, ...rest.map((r) => r.id)].sort(), ids.sort());
  assert.throws(() => pageArgs({ cursor: page.nextCursor! }), HttpError, "a key id is no UUID");
});
