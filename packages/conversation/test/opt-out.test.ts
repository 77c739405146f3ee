import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { handleOptKeywords, type OptSettings } from "../src/index.ts";

let t: TestDatabase;
let tenantId: string;
let channelAccountId: string;

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  channelAccountId = (
    await t.db.channelAccount.create({ data: { tenantId, channel: "telegram", name: "bot", secrets: "sealed" } })
  ).id;
});
after(() => t.drop());

const OUT = "You won't get notifications from us anymore. Send START to get them again.";
const BACK = "Notifications are back on. Send STOP to turn them off.";
const say = (externalId: string, text: string, settings: OptSettings = {}) =>
  handleOptKeywords(t.db, { tenantId, channelAccountId, externalId, text, settings });
const contactOf = async (externalId: string) =>
  (
    await t.db.contactIdentity.findUnique({
      where: { channelAccountId_externalId: { channelAccountId, externalId } },
      include: { contact: true },
    })
  )?.contact;

test("STOP opts a new customer out: they become a contact, so the choice sticks", async () => {
  const before = Date.now();
  assert.equal(await say("c1", "STOP"), OUT);
  const contact = await contactOf("c1");
  assert.equal(contact?.tenantId, tenantId);
  assert.ok(contact?.optedOutAt && contact.optedOutAt.getTime() >= before - 1000);
  // Again: the same contact, still opted out.
  assert.equal(await say("c1", "stop"), OUT);
  assert.equal(await t.db.contact.count({ where: { tenantId } }), 1);
  assert.ok((await contactOf("c1"))?.optedOutAt);
});

test("case, punctuation and surrounding spaces do not matter; other words around it do", async () => {
  for (const [n, text] of [" Stop! ", "UNSUBSCRIBE.", "\tstop\n", "¡stop!", "stop !", "! stop"].entries()) {
    assert.equal(await say(`c2-${n}`, text), OUT, JSON.stringify(text));
  }
  for (const text of ["stop it please", "stopp", "don't stop", "", "st op"]) {
    assert.equal(await say("c3", text), null, JSON.stringify(text));
  }
  assert.equal(await contactOf("c3"), undefined, "not a keyword: nobody is made a contact");
});

test("START turns notifications back on, but only for someone who opted out", async () => {
  assert.equal(await say("c4", "start"), null, "a greeting, or a bot's start button");
  assert.equal(await contactOf("c4"), undefined);
  await say("c4", "stop");
  for (const word of ["Start", "unstop", "SUBSCRIBE!"]) {
    assert.equal(await say("c4", word), BACK, word);
    assert.equal((await contactOf("c4"))?.optedOutAt, null);
    await say("c4", "stop");
  }
  // A contact who never opted out: START is just a message.
  const contact = await t.db.contact.create({ data: { tenantId } });
  await t.db.contactIdentity.create({ data: { tenantId, contactId: contact.id, channelAccountId, externalId: "c5" } });
  assert.equal(await say("c5", "start"), null);
});

test("a tenant's own words and confirmations replace the defaults, matched the same way, in any script", async () => {
  const settings: OptSettings = {
    optOutWords: ["Abmelden!", "СТОП"],
    optInWords: ["Anmelden", "старт 2"],
    optOutReply: "Abgemeldet.",
    optInReply: "Wieder angemeldet.",
  };
  assert.equal(await say("c6", "stop", settings), null, "the defaults no longer apply");
  assert.equal(await say("c6", "abmelden", settings), "Abgemeldet.");
  assert.ok((await contactOf("c6"))?.optedOutAt);
  assert.equal(await say("c6", "start", settings), null);
  assert.equal(await say("c6", "ANMELDEN.", settings), "Wieder angemeldet.");
  assert.equal((await contactOf("c6"))?.optedOutAt, null);
  assert.equal(await say("c7", "стоп!", settings), "Abgemeldet.");
  assert.equal(await say("c7", "Старт 2", settings), "Wieder angemeldet.");
  assert.equal(await say("c7", "Старт", settings), null);
});

test("a word that is both (a tenant's mistake) opts out", async () => {
  const settings: OptSettings = { optOutWords: ["pause"], optInWords: ["pause"] };
  assert.equal(await say("c8", "pause", settings), OUT);
  assert.equal(await say("c8", "pause", settings), OUT);
  assert.ok((await contactOf("c8"))?.optedOutAt);
});
