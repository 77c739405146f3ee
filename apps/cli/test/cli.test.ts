import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";
import type { FastifyInstance } from "fastify";
import { program } from "../src/index.ts";

const OPERATOR = "operator-token-for-cli-tests";
const oldKey = generateKey("old");
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let url: string;
// The demo's files (.data/demo.json, .data/demo-api-key) in a folder of the tests' own, never a running demo's.
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cb-cli-"));
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(oldKey));
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    ingestor,
    drivers: [telegramDriver],
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    admin: { db: t.db, sealer, publicBaseUrl: "https://bot.example.com", channelEnv: {}, operatorToken: OPERATOR },
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

/** What `cb <args>` prints. */
async function cbText(env: Record<string, string | undefined>, ...args: string[]): Promise<string> {
  const out: string[] = [];
  await program({ CB_API_URL: url, DEMO_INFO_FILE: join(dir, "demo.json"), ...env }, (text) => out.push(text))
    .exitOverride()
    .parseAsync(["node", "cb", ...args]);
  return out.join("\n");
}

/** What `cb <args> --json` prints, parsed. */
const cb = async (env: Record<string, string | undefined>, ...args: string[]): Promise<any> =>
  JSON.parse(await cbText(env, ...args, "--json"));

/** A table's rows (the lines between its borders), each as its cells. */
const rows = (table: string) =>
  table
    .split("\n")
    .filter((line) => line.startsWith("│"))
    .map((line) =>
      line
        .split("│")
        .slice(1, -1)
        .map((c) => c.trim()),
    );

test("a scripted setup: tenant, key, channel, intents", async () => {
  const created = await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Acme", "--timezone", "Europe/Berlin");
  assert.equal(created.tenant.timezone, "Europe/Berlin");
  const admin = created.apiKey.key;
  const reader = await cb({ CB_API_KEY: admin }, "key", "create", "dashboards", "--scopes", "read-only");
  assert.deepEqual(reader.scopes, ["read-only"]);
  const connected = await cb(
    { CB_API_KEY: admin },
    "connect",
    "whatsapp",
    "Shop",
    "--config",
    "phoneNumberId=106540352242922",
    "--credential",
    "accessToken=EAAG-x",
    "--credential",
    "appSecret=s3cret",
  );
  assert.match(connected.setup.callbackUrl, /^https:\/\/bot\.example\.com\/webhooks\/whatsapp\//);
  assert.equal((await cb({ CB_API_KEY: reader.key }, "channels")).data.length, 1);
  await assert.rejects(cb({ CB_API_KEY: reader.key }, "key", "create", "nope"), /403 forbidden/);
  assert.deepEqual((await cb({ CB_API_KEY: admin }, "intents")).data, []);
  const subscription = await cb(
    { CB_API_KEY: admin },
    "subscribe",
    "https://acme.example/events",
    "--events",
    "message.received,intent.matched",
  );
  assert.deepEqual(subscription.subscription.eventTypes, ["message.received", "intent.matched"]);
  assert.deepEqual((await cb({ CB_API_KEY: admin }, "deliveries", subscription.subscription.id)).data, []);
});

test("rotate-secrets re-seals every credential with the newest key; the old key can then go", async () => {
  const ring = `${generateKey("new")},${oldKey}`;
  const result = await cb({ DATABASE_URL: t.url, SECRETS_KEYS: ring }, "rotate-secrets");
  assert.deepEqual(result, { channelAccounts: 1, fulfillmentEndpoints: 0, eventSubscriptions: 1, tenants: 0 });
  const newOnly = createSealer(parseKeyRing(ring.split(",")[0]!));
  const row = await t.db.channelAccount.findFirstOrThrow();
  assert.deepEqual(newOnly.openJson<{ appSecret: string }>(row.secrets).appSecret, "s3cret");
  assert.deepEqual(
    await cb({ DATABASE_URL: t.url, SECRETS_KEYS: ring }, "rotate-secrets"),
    { channelAccounts: 0, fulfillmentEndpoints: 0, eventSubscriptions: 0, tenants: 0 },
    "nothing left to do",
  );
});

test("with no key given the demo's key is used; CB_API_KEY, then --key, take precedence", async () => {
  const x = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Xenon")).apiKey.key;
  const y = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Yttrium")).apiKey.key;
  await cb({ CB_API_KEY: x }, "intents", "create", "x.only", "--example", "xenon");
  await cb({ CB_API_KEY: y }, "intents", "create", "y.only", "--example", "yttrium");
  const names = async (env: Record<string, string | undefined>, ...args: string[]) =>
    (await cb(env, "intents", ...args)).data.map((i: { name: string }) => i.name);

  await writeFile(join(dir, "demo-api-key"), `${x}\n`);
  try {
    assert.deepEqual(await names({}), ["x.only"], "the demo's key file");
    assert.deepEqual(await names({ CB_API_KEY: y }), ["y.only"], "CB_API_KEY over the file");
    assert.deepEqual(await names({ CB_API_KEY: y }, "--key", x), ["x.only"], "--key over both");
    // The demo's address too, when no other is given; CB_API_URL (then --url) over it.
    await writeFile(join(dir, "demo.json"), JSON.stringify({ serverUrl: url }));
    assert.deepEqual(await names({ CB_API_URL: undefined }), ["x.only"]);
    const closed = "http://127.0.0.1:1";
    await assert.rejects(cbText({ CB_API_URL: closed }, "intents"), /fetch failed/);
    assert.deepEqual(await names({ CB_API_URL: closed }, "--url", url), ["x.only"]);
    await rm(join(dir, "demo.json"));
  } finally {
    await rm(join(dir, "demo-api-key"), { force: true });
  }
});

test("a 401 says which key was refused and how to pass one", async () => {
  await assert.rejects(cbText({}, "intents"), (err: Error) => {
    assert.match(
      err.message,
      /^401 unauthenticated: .*no API key was given: pass an API key with --key <key> or in CB_API_KEY/,
    );
    assert.match(err.message, /\.data\/demo-api-key/);
    return true;
  });
  await assert.rejects(
    cbText({ CB_API_KEY: "cbk_nope" }, "intents"),
    /the key given with CB_API_KEY was refused: pass an API key with --key <key> or in CB_API_KEY/,
  );
  await assert.rejects(cbText({}, "intents", "--key", "cbk_nope"), /the key given with --key was refused/);
  await writeFile(join(dir, "demo-api-key"), "cbk_from_another_database\n");
  try {
    await assert.rejects(cbText({}, "intents"), /the key in .*demo-api-key was refused .*--key <key> or in CB_API_KEY/);
  } finally {
    await rm(join(dir, "demo-api-key"), { force: true });
  }
});

test("lists print tables, a page at a time: --limit, then --cursor; --json prints the API's JSON", async () => {
  const key = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Paged")).apiKey.key;
  for (const name of ["one", "two", "three"])
    await cb({ CB_API_KEY: key }, "intents", "create", name, "--example", `say ${name}`, "--response", `${name}!`);
  const first = await cbText({ CB_API_KEY: key }, "intents", "list", "--limit", "2");
  const [head, ...page] = rows(first);
  assert.deepEqual(head, ["name", "examples", "parameters", "responses", "fulfillment", "fallback", "id"]);
  assert.deepEqual(
    page.map((r) => r.slice(0, 4)),
    [
      ["three", "1", "", "1"],
      ["two", "1", "", "1"],
    ],
  );
  const cursor = /^more: --cursor (\S+)$/m.exec(first)?.[1];
  assert.ok(cursor, first);
  const second = await cbText({ CB_API_KEY: key }, "intents", "--limit", "2", "--cursor", cursor);
  assert.deepEqual(
    rows(second)
      .slice(1)
      .map((r) => r[0]),
    ["one"],
  );
  assert.doesNotMatch(second, /more:/);
  const json = await cb({ CB_API_KEY: key }, "intents", "list", "--limit", "1");
  assert.equal(json.data.length, 1);
  assert.equal(typeof json.nextCursor, "string");
  assert.match(await cbText({ CB_API_KEY: key }, "contacts"), /^\(none\)$/);
});

test("intents: create one (flags or a file) and test a phrase against the tenant's model", async () => {
  const key = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Shop")).apiKey.key;
  const definition = join(dir, "order-status.json");
  await writeFile(
    definition,
    JSON.stringify({
      examples: ["where is my order", "track my package"],
      parameters: [{ name: "order_id", entity: "@sys.number", required: true, prompts: ["Order number?"] }],
    }),
  );
  const created = await cbText(
    { CB_API_KEY: key },
    "intents",
    "create",
    "order.status",
    "--file",
    definition,
    "--example",
    "has my order shipped",
    "--response",
    "Let me check.",
  );
  const fields = new Map(rows(created).map(([name, value]) => [name, value]));
  assert.equal(fields.get("name"), "order.status");
  assert.equal(
    fields.get("examples"),
    JSON.stringify(["where is my order", "track my package", "has my order shipped"]),
  );
  await cb({ CB_API_KEY: key }, "intents", "create", "greeting", "--example", "hello", "--example", "hi there");
  await cb({ CB_API_KEY: key }, "intents", "create", "fallback", "--fallback");

  const tested = await cbText({ CB_API_KEY: key }, "intents", "test", "where", "is", "my", "order", "12345");
  const result = new Map(rows(tested).map(([name, value]) => [name, value]));
  assert.equal(result.get("intent"), "order.status");
  assert.ok(Number(result.get("confidence")) > 0.25, tested);
  assert.equal(result.get("parameters.order_id"), "12345");
  assert.equal(result.get("fallback"), "false");
  const unsure = await cb({ CB_API_KEY: key }, "intents", "test", "zebra quantum marmalade");
  assert.deepEqual([unsure.intent, unsure.fallback], ["fallback", true]);
});

test('contacts: create, list, update in place ("" clears a field), delete', async () => {
  const key = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Contacts")).apiKey.key;
  const created = await cb(
    { CB_API_KEY: key },
    "contacts",
    "create",
    "--customer-id",
    "c-42",
    "--phone",
    "+49 151 12345678",
    "--name",
    "Ada",
  );
  assert.equal(created.phone, "+4915112345678");
  const updated = await cb(
    { CB_API_KEY: key },
    "contacts",
    "update",
    created.id,
    "--email",
    "Ada@Example.com",
    "--name",
    "",
  );
  assert.deepEqual(
    [updated.id, updated.customerId, updated.phone, updated.email, updated.name],
    [created.id, "c-42", "+4915112345678", "ada@example.com", null],
  );
  const [head, row] = rows(await cbText({ CB_API_KEY: key }, "contacts"));
  assert.deepEqual(head, ["id", "customerId", "name", "phone", "email", "optedOut", "identities"]);
  assert.deepEqual(row, [created.id, "c-42", "", "+4915112345678", "ada@example.com", "false", ""]);
  await assert.rejects(cbText({ CB_API_KEY: key }, "contacts", "update", created.id), /400 validation_failed/);
  assert.equal(await cbText({ CB_API_KEY: key }, "contacts", "delete", created.id), "done");
  assert.deepEqual((await cb({ CB_API_KEY: key }, "contacts", "list")).data, []);
});

test("notifications: the log and the rules", async () => {
  const created = await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Notify");
  const key = created.apiKey.key;
  const tenantId = created.tenant.id;
  const rule = await t.db.notificationRule.create({
    data: {
      tenantId,
      name: "shipped",
      eventType: "order.shipped",
      conditions: [],
      template: { text: "Order {{data.orderId}} shipped" },
      contactMatch: { by: "customerId", path: "$.data.customerId" },
      channelOrder: ["whatsapp", "telegram"],
    },
  });
  const event = await t.db.orderEvent.create({
    data: {
      tenantId,
      eventId: "evt_1",
      type: "order.shipped",
      subject: "A-1",
      occurredAt: new Date(),
      data: {},
      current: true,
    },
  });
  await t.db.notification.create({
    data: { tenantId, orderEventId: event.id, ruleId: rule.id, status: "skipped", reason: "no contact" },
  });
  const [ruleHead, ruleRow] = rows(await cbText({ CB_API_KEY: key }, "notifications", "rules"));
  assert.deepEqual(ruleHead, ["name", "eventType", "channels", "enabled", "id"]);
  assert.deepEqual(ruleRow, ["shipped", "order.shipped", "whatsapp → telegram", "true", rule.id]);
  const log = await cb({ CB_API_KEY: key }, "notifications");
  assert.deepEqual(
    log.data.map((n: { eventId: string; status: string; reason: string }) => [n.eventId, n.status, n.reason]),
    [["evt_1", "skipped", "no contact"]],
  );
  assert.match(await cbText({ CB_API_KEY: key }, "notifications", "list"), /│ evt_1 .*│ skipped .*│ no contact/);

  const contact = await t.db.contact.create({ data: { tenantId, customerId: "c-9" } });
  const reminder = await t.db.notification.create({
    data: {
      tenantId,
      kind: "reminder",
      status: "scheduled",
      contactId: contact.id,
      dueAt: new Date(Date.now() + 3600_000),
    },
  });
  const cancelled = await cb({ CB_API_KEY: key }, "notifications", "cancel", reminder.id);
  assert.deepEqual(
    [cancelled.id, cancelled.status, cancelled.reason],
    [reminder.id, "cancelled", "cancelled through the API"],
  );
  await assert.rejects(cbText({ CB_API_KEY: key }, "notifications", "cancel", event.id), /404 not_found/);
});

test("a conversation's messages show what was said and, inbound, the intent the turn matched", async () => {
  const created = await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Talk");
  const tenantId = created.tenant.id;
  const account = await t.db.channelAccount.create({
    data: { tenantId, channel: "telegram", name: "bot", config: {}, secrets: "x" },
  });
  const conversation = await t.db.conversation.create({
    data: { tenantId, channelAccountId: account.id, externalId: "42" },
  });
  const base = { tenantId, channelAccountId: account.id, conversationId: conversation.id };
  await t.db.message.create({
    data: {
      ...base,
      direction: "in",
      dedupeKey: "1",
      status: "processed",
      content: { text: "where is my order" },
      turn: { intent: "order.status", confidence: 0.912, replies: 1, latencyMs: 5 },
      createdAt: new Date(Date.now() - 1000),
    },
  });
  await t.db.message.create({
    data: {
      ...base,
      direction: "out",
      dedupeKey: "1:0",
      status: "sent",
      content: { type: "text", text: "Which order?\nIts number, please." },
    },
  });
  const [head, reply, question] = rows(await cbText({ CB_API_KEY: created.apiKey.key }, "messages", conversation.id));
  assert.deepEqual(head, ["createdAt", "direction", "status", "text", "intent"]);
  assert.deepEqual(reply!.slice(1), ["out", "sent", "Which order? Its number, please.", ""], "a row a line");
  assert.deepEqual(question!.slice(1), ["in", "processed", "where is my order", "order.status (0.91)"]);
});

test("operators: invite (the token printed once), list as a table, invite again", async () => {
  const admin = (await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Operators")).apiKey.key;
  const invited = await cb({ CB_API_KEY: admin }, "operators", "invite", "Ada@Shop.Example", "--role", "agent");
  assert.deepEqual([invited.operator.email, invited.operator.role], ["ada@shop.example", "agent"]);
  assert.match(invited.invitation.token, /^[A-Za-z0-9_-]{43}$/);
  const viewer = await cb(
    { CB_API_KEY: admin },
    "operators",
    "invite",
    "bo@shop.example",
    "--role",
    "viewer",
    "--name",
    "Bo",
  );
  assert.equal(viewer.operator.name, "Bo");
  assert.equal((await cb({ CB_API_KEY: admin }, "operators", "invite", "cy@shop.example")).operator.role, "agent");
  const table = rows(await cbText({ CB_API_KEY: admin }, "operators"));
  assert.deepEqual(
    table.slice(1).map((cells) => cells.slice(0, 3)),
    [
      ["cy@shop.example", "", "agent"],
      ["bo@shop.example", "Bo", "viewer"],
      ["ada@shop.example", "", "agent"],
    ],
  );
  const again = await cb({ CB_API_KEY: admin }, "operators", "reinvite", invited.operator.id);
  assert.notEqual(again.invitation.token, invited.invitation.token);
  await assert.rejects(
    cb({ CB_API_KEY: admin }, "operators", "invite", "dee@shop.example", "--role", "owner"),
    /400 validation_failed/,
  );
});
