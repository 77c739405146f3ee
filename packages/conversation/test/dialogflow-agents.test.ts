import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { adminApi } from "@cb/admin-api";
import type { InboundMessage } from "@cb/core";
import { newKey } from "@cb/admin-api";
import { createEgress, parsePolicy } from "@cb/egress";
import { createFulfillmentClient } from "@cb/fulfillment";
import Fastify from "fastify";
import { zipSync } from "fflate";
import {
  applyContexts,
  askForMissing,
  createFulfill,
  createUnderstand,
  handleMessage,
  type TurnDeps,
} from "../src/index.ts";
import { setUp, type Setup } from "./support.ts";

/**
 * Real Dialogflow ES agents (fixtures/dialogflow-agents, sources in SOURCES.md there) imported
 * through the admin API as their zip, then talked to through the real turn path (the tenant's
 * trained model, the platforms' strict fakes): the replies are the ones the agent gives in
 * Dialogflow when its webhook does not answer (none is configured here).
 */
const AGENTS = join(import.meta.dirname, "fixtures", "dialogflow-agents");

function zipAgent(name: string): Buffer {
  const files: Record<string, Uint8Array> = {};
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${entry}/`);
      else files[`${prefix}${entry}`] = readFileSync(path);
    }
  };
  walk(join(AGENTS, name), `${name}/`);
  return Buffer.from(zipSync(files));
}

interface Agent {
  s: Setup;
  imported: Record<string, any>;
  /** One turn: the message in, the replies' texts out (Messenger unless the fields say otherwise). */
  say(chat: string, fields: Partial<InboundMessage> | string): Promise<{ intent?: string; said: unknown[] }>;
  close(): Promise<void>;
}

async function withAgent(name: string): Promise<Agent> {
  const s = await setUp();
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  const client = createFulfillmentClient(egress);
  const app = Fastify();
  await app.register(adminApi, { db: s.t.db, sealer: s.sealer, channelEnv: {} });
  const key = newKey();
  await s.t.db.apiKey.create({
    data: { id: key.id, tenantId: s.tenantId, name: "admin", scopes: ["admin"], secretHash: key.hash, hint: "x" },
  });
  const response = await app.inject({
    method: "POST",
    url: "/v1/agent-import",
    headers: { authorization: `Bearer ${key.key}`, "content-type": "application/zip" },
    payload: zipAgent(name),
  });
  assert.equal(response.statusCode, 200, response.body);
  const deps: TurnDeps = {
    db: s.t.db,
    pool: s.t.pool,
    accounts: s.accounts,
    understand: createUnderstand(s.t.db, { pool: s.t.pool }),
    fulfill: createFulfill({ sealer: s.sealer, client }),
    applyContexts,
    askForMissing,
  };
  const sent = () => ({ messenger: s.graph.calls.map((c) => c.body), telegram: s.telegram.calls.map((c) => c.params) });
  return {
    s,
    imported: response.json(),
    async say(chat, fields) {
      const before = sent();
      const id = await s.receive(
        typeof fields === "string" ? { channel: "messenger", chat, text: fields } : { ...fields, chat },
      );
      const result = await handleMessage(deps, id);
      const after = sent();
      const said = [
        ...after.messenger.slice(before.messenger.length).map((body: any) => body.message?.text ?? body.message),
        ...after.telegram.slice(before.telegram.length).map((params: any) => params.text ?? params),
      ];
      return { ...(result.intent ? { intent: result.intent } : {}), said };
    },
    async close() {
      await app.close();
      client.shutdown();
      await egress.close();
      await s.close();
    },
  };
}

test("bike shop: welcome events on Telegram and Messenger, hours, an appointment and its follow-up, the fallback", async () => {
  const agent = await withAgent("bike-shop");
  try {
    assert.deepEqual(agent.imported, {
      language: "en",
      intents: 5,
      entityTypes: 1,
      webhookIntentsWithoutEndpoint: ["Hours", "Make Appointment"],
      unmapped: [
        {
          intent: "Welcome Intent",
          items: ['a "suggestion_chips" message for google: no such channel here, so it is not imported'],
        },
      ],
    });
    const welcome = "Hi, welcome to Hogarth's bike shop.  How can I help you?";
    assert.deepEqual(await agent.say("101", { text: "/start", command: { name: "start", args: "" } }), {
      intent: "Welcome Intent",
      said: [welcome],
    });
    assert.deepEqual(
      await agent.say("201", { channel: "messenger", postback: { payload: "GET_STARTED", title: "Get Started" } }),
      { intent: "Welcome Intent", said: [welcome] },
    );
    assert.deepEqual(await agent.say("202", "What are your hours?"), {
      intent: "Hours",
      said: ["We are open every weekday from 9am to 5:30pm"],
    });
    assert.deepEqual(await agent.say("203", "Can I schedule service for 4pm tomorrow?"), {
      intent: "Make Appointment",
      said: ["Ok, let me see if we can fit you in. Tomorrow at 3pm is fine! Do you need a repair or just a tune-up?"],
    });
    const followUp = await agent.say("203", "I need a repair.");
    assert.equal(followUp.intent, "Make Appointment - custom", "gated by the context the appointment set");
    assert.match(String(followUp.said[0]), /^Okay, we’ll schedule a /);
    assert.deepEqual(await agent.say("204", "I need a repair."), {
      intent: "Fallback Intent",
      said: ["I'm sorry it's a little loud in my shop, can you say that again?"],
    });
    assert.deepEqual((await agent.say("205", "My bike is broken")).said, ["What day do you want to come in?"]);
    assert.deepEqual((await agent.say("205", "next Tuesday")).said, ["What time works for you?"]);
  } finally {
    await agent.close();
  }
});

test("temperature converter: number words fill @sys.number, prompts for a custom entity, a context set and ended", async () => {
  const agent = await withAgent("temperature-converter");
  try {
    assert.deepEqual(agent.imported.unmapped, []);
    assert.deepEqual(await agent.say("301", "How about twenty five degrees?"), {
      intent: "Convert Fahrenheit and Celsius",
      said: ["Fahrenheit or Celsius?"],
    });
    assert.deepEqual(await agent.say("301", "Celsius"), {
      intent: "Convert Fahrenheit and Celsius",
      said: ["Webhook Failed"],
    });
    const turns = await agent.s.t.db.message.findMany({
      where: { direction: "in", conversation: { externalId: "301" } },
      orderBy: { createdAt: "asc" },
    });
    assert.deepEqual((turns.at(-1)?.turn as any)?.parameters, { temperature: 25, unit: "Celsius" });

    assert.equal((await agent.say("302", "27° Celsius")).intent, "Convert Fahrenheit and Celsius");
    assert.equal((await agent.say("302", "Kelvin")).intent, "Convert Rankine and Kelvin", "in the temperature context");
    assert.equal((await agent.say("303", "27° Celsius")).intent, "Convert Fahrenheit and Celsius");
    assert.deepEqual(await agent.say("303", "Quit"), { intent: "Cancel", said: ["Goodbye!"] });
    assert.equal((await agent.say("303", "Kelvin")).intent, "Default Fallback Intent", "the context was ended");
  } finally {
    await agent.close();
  }
});

test("ad libs: the welcome event, and country, year and colour asked for until all are given", async () => {
  const agent = await withAgent("slot-filling");
  try {
    assert.deepEqual(agent.imported.unmapped, []);
    assert.deepEqual(await agent.say("401", { text: "/start", command: { name: "start", args: "" } }), {
      intent: "Default Welcome Intent",
      said: ["Hey there, welcome to Ad Libs! All I need is a country, year, and color for a great story."],
    });
    assert.deepEqual(await agent.say("402", "orange Iceland"), {
      intent: "makeAdlibStory",
      said: ["What's a random year?"],
    });
    const story = await agent.say("402", "1985");
    assert.equal(story.intent, "makeAdlibStory");
    assert.match(String(story.said[0]), /^So according to Professor David, back in the year /);
    const turns = await agent.s.t.db.message.findMany({
      where: { direction: "in", conversation: { externalId: "402" } },
      orderBy: { createdAt: "asc" },
    });
    assert.deepEqual((turns.at(-1)?.turn as any)?.parameters, {
      "geo-country": "Iceland",
      number: 1985,
      color: "orange",
    });
    assert.deepEqual((await agent.say("403", "Canada 1955")).said, ["Give me a random color"]);
  } finally {
    await agent.close();
  }
});

test("weather: @sys.geo-city asked for, a context-gated follow-up, a parameter without entity type reported", async () => {
  const agent = await withAgent("weather");
  try {
    assert.deepEqual(agent.imported.unmapped, [
      { intent: "weather.context", items: ["parameter geo-city: no entity type, so it is not imported"] },
    ]);
    assert.deepEqual(await agent.say("501", { text: "/start", command: { name: "start", args: "" } }), {
      intent: "Default Welcome Intent",
      said: [
        'Welcome to Weather Bot!  You can say things like "What\'s the weather in Mountain View tomorrow?" to get the weather forecast.',
      ],
    });
    assert.deepEqual(await agent.say("502", "weather forecast"), {
      intent: "weather",
      said: ["For what city would you like the weather?"],
    });
    assert.equal((await agent.say("502", "Paris")).intent, "weather");
    assert.equal((await agent.say("502", "What about tomorrow?")).intent, "weather.context");
    assert.equal((await agent.say("503", "What about tomorrow?")).intent, "Default Fallback Intent", "no context");
  } finally {
    await agent.close();
  }
});
