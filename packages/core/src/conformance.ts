// The conformance suite every channel driver passes (exported as @cb/core/conformance; test code
// only). A channel package runs it from its own test file with its fixtures and its fake platform:
//   runConformance({ driver, account, to, deliveries, forgeries, fake });
import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import type { ChannelAccount, ChannelDriver, ChannelEnvironment, WebhookPluginOptions } from "./channel.ts";
import { PlatformError } from "./errors.ts";
import type { ConversationRef, InboundEvent } from "./message.ts";
import type { Budget, SendLimits } from "./rate-limit.ts";
import type { Reply } from "./reply.ts";
import { inboundEventValidator } from "./inbound-schema.ts";

/** A request as the platform sends it to the webhook; `url` is relative to /webhooks/<name>. */
export interface WebhookCall {
  method: "GET" | "POST";
  url: string;
  headers?: Record<string, string>;
  /** The body exactly as sent (a string, so a signature over its bytes holds). */
  body?: string;
}

/**
 * The package's fake of its platform, started for the suite. It refuses what the real platform
 * would (over a documented limit, malformed) with the platform's error, which fails the send.
 */
export interface ConformanceFake {
  /** The ChannelEnvironment that points the sender at the fake. */
  env: ChannelEnvironment;
  /** The next send call is answered 429, asking to wait this many seconds. */
  throttleNext(retryAfterSeconds: number): void;
  close(): Promise<void>;
}

export interface ConformanceCase {
  driver: ChannelDriver;
  /** An enabled account; the requests in `deliveries` are signed with its secrets. */
  account: ChannelAccount;
  /** Deployment app secrets the webhook needs (the driver's `appSecrets`), if any. */
  appSecrets?: Record<string, string>;
  /** Whom the rendering and 429 tests send to (the fake knows this chat). */
  to: ConversationRef;
  /**
   * The package's fixtures as the platform delivers them, and the events each must become (their
   * types, in order; [] for a request that is acknowledged and yields nothing, such as a challenge).
   */
  deliveries: { name: string; request: WebhookCall; events: InboundEvent["type"][]; status?: number }[];
  /** How a forger without the account's secrets would send a genuine delivery: each is refused. */
  forgeries(genuine: WebhookCall): { name: string; request: WebhookCall }[];
  /** The platform's fake; none for a channel with no platform API to call (web chat). */
  fake?(): Promise<ConformanceFake>;
  /**
   * What the webhook needs from the web role beyond the account and ingest, for channels that serve
   * their visitors themselves (web chat: the database pool and live updates).
   */
  plugin?(): Promise<Pick<WebhookPluginOptions, "pool" | "live">>;
}

// Not all ASCII: platforms that count bytes (Instagram) are past their limits too.
const long = (n: number) => "Lörem ipsum dolor sit amet, ".repeat(Math.ceil(n / 28)).slice(0, n);

/**
 * Every reply type, each well past any platform's limits: more text than any channel takes, more
 * buttons, quick replies and cards than any allows, titles too long everywhere.
 */
export function oversizedReplies(channel: string): { name: string; reply: Reply }[] {
  const postback = (i: number) => ({ type: "postback" as const, title: `${long(100)} ${i}`, payload: `p${i}` });
  const url = (i: number) => ({
    type: "url" as const,
    title: `Open ${i} ${long(100)}`,
    url: `https://example.com/${i}`,
  });
  return [
    { name: "text", reply: { type: "text", text: long(40_000) } },
    {
      name: "text with quick replies",
      reply: {
        type: "text",
        text: long(3_000),
        quickReplies: Array.from({ length: 20 }, (_, i) => ({ title: `${long(40)} ${i}`, payload: `q${i}` })),
      },
    },
    {
      name: "buttons",
      reply: { type: "buttons", text: long(5_000), buttons: [postback(1), url(2), postback(3), postback(4), url(5)] },
    },
    {
      name: "cards",
      reply: {
        type: "cards",
        cards: Array.from({ length: 15 }, (_, i) => ({
          title: `${long(120)} ${i}`,
          subtitle: long(200),
          imageUrl: `https://example.com/${i}.png`,
          buttons: [postback(i), url(i), postback(i + 100), postback(i + 200)],
        })),
      },
    },
    { name: "image", reply: { type: "image", url: "https://example.com/a.png", caption: long(3_000) } },
    { name: "custom for another channel", reply: { type: "custom", channel: `not-${channel}`, payload: { x: 1 } } },
  ];
}

/** SendLimits that record what the sender asked, in memory: the 429 test reads `blocked`. */
export function recordingLimits(): SendLimits & { reserved: Budget[][]; blocked: { key: string; ms: number }[] } {
  const reserved: Budget[][] = [];
  const blocked: { key: string; ms: number }[] = [];
  return {
    reserved,
    blocked,
    async reserve(budgets) {
      reserved.push(budgets);
    },
    async block(key, ms) {
      blocked.push({ key, ms });
    },
  };
}

async function mount(c: ConformanceCase) {
  const ingested: InboundEvent[][] = [];
  const app = Fastify({ logger: false });
  await app.register(c.driver.webhook, {
    prefix: `/webhooks/${c.driver.name}`,
    loadAccount: async (id) => (id === c.account.id ? c.account : null),
    findAccount: async (match) =>
      Object.entries(match).every(([k, v]) => (c.account.config as Record<string, unknown>)[k] === v)
        ? c.account
        : null,
    ingest: async (_account, events) => {
      ingested.push(events);
    },
    disableAccount: async () => {},
    ...(c.appSecrets ? { appSecrets: c.appSecrets } : {}),
    ...(c.plugin ? await c.plugin() : {}),
  });
  const send = (call: WebhookCall) =>
    app.inject({
      method: call.method,
      url: `/webhooks/${c.driver.name}${call.url}`,
      ...(call.headers ? { headers: call.headers } : {}),
      ...(call.body !== undefined ? { payload: call.body } : {}),
    });
  return { app, ingested, send };
}

/** Registers the suite's tests (node:test) for one driver. */
export function runConformance(c: ConformanceCase): void {
  const { driver } = c;

  test(`${driver.name} conformance: the driver describes itself`, () => {
    assert.match(driver.name, /^[a-z][a-z0-9-]*$/);
    assert.ok(driver.displayName.length > 0);
    assert.equal(driver.credentials.type, "object");
    assert.equal(driver.config.type, "object");
    // Every credential is a secret: logs must redact each.
    for (const field of Object.keys(driver.credentials.properties))
      assert.ok(driver.secretFields.includes(field), `secretFields lacks the credential ${field}`);
    assert.ok(driver.limits.text > 0);
    assert.ok(driver.dialogflow.payloadKey.length > 0);
  });

  test(`${driver.name} conformance: its fixtures normalize to valid events of this channel`, async () => {
    const { app, ingested, send } = await mount(c);
    try {
      for (const delivery of c.deliveries) {
        ingested.length = 0;
        const response = await send(delivery.request);
        assert.equal(response.statusCode, delivery.status ?? 200, `${delivery.name}: ${response.body}`);
        const events = ingested.flat();
        assert.deepEqual(
          events.map((e) => e.type),
          delivery.events,
          delivery.name,
        );
        for (const event of events) {
          const valid: unknown = event;
          assert.ok(inboundEventValidator.Check(valid), `${delivery.name}: ${JSON.stringify(event).slice(0, 300)}`);
          const channel =
            event.type === "message"
              ? event.message.channel
              : event.type === "status"
                ? event.status.channel
                : event.read.channel;
          assert.equal(channel, driver.name, delivery.name);
        }
      }
    } finally {
      await app.close();
    }
  });

  test(`${driver.name} conformance: verification refuses forgeries and ingests nothing`, async () => {
    const { app, ingested, send } = await mount(c);
    try {
      const genuine = c.deliveries.filter((d) => d.events.length > 0);
      assert.ok(genuine.length > 0, "no delivery that yields events");
      for (const delivery of genuine) {
        const forgeries = c.forgeries(delivery.request);
        assert.ok(forgeries.length > 0, "no forgeries");
        for (const forgery of forgeries) {
          const response = await send(forgery.request);
          assert.ok(
            response.statusCode >= 400 && response.statusCode < 500,
            `${delivery.name}, ${forgery.name}: answered ${response.statusCode}`,
          );
        }
      }
      assert.deepEqual(ingested, []);
    } finally {
      await app.close();
    }
  });

  test(`${driver.name} conformance: every reply type is rendered within the platform's limits`, async () => {
    const fake = await c.fake?.();
    try {
      const sender = driver.createSender(c.account, fake?.env ?? {}, recordingLimits());
      for (const { name, reply } of oversizedReplies(driver.name)) {
        const rendered = driver.render(reply);
        if (name.startsWith("custom")) {
          assert.deepEqual(rendered, [], "a custom reply for another channel is skipped");
          continue;
        }
        assert.ok(rendered.length > 0, `${name} rendered to nothing`);
        // The fake answers a message the platform would refuse with the platform's error.
        const sent = await sender
          .send(c.to, reply)
          .catch((err: unknown) => assert.fail(`${name}: the platform refused it: ${(err as Error).message}`));
        assert.equal(sent.length, rendered.length, `${name}: one message sent for each rendered`);
      }
    } finally {
      await fake?.close();
    }
  });

  const throttling = c.fake ? {} : { skip: "no platform API: nothing answers 429" };
  test(
    `${driver.name} conformance: the sender honours 429 (blocks the key for Retry-After, fails retryable)`,
    throttling,
    async () => {
      const fake = await c.fake!();
      try {
        const limits = recordingLimits();
        const sender = driver.createSender(c.account, fake.env, limits);
        fake.throttleNext(7);
        const error = await sender.send(c.to, { type: "text", text: "hello" }).then(
          () => assert.fail("a 429 was taken for success"),
          (err: unknown) => err,
        );
        assert.ok(error instanceof PlatformError, String(error));
        assert.equal(error.retryable, true);
        assert.equal(limits.blocked.length, 1);
        assert.ok(limits.blocked[0]!.ms >= 7_000, `blocked for ${limits.blocked[0]!.ms} ms`);
        const reservedKeys = new Set(limits.reserved.flat().map((b) => b.key));
        assert.ok(reservedKeys.has(limits.blocked[0]!.key), "the blocked key is one the sender reserves");
        // The next call goes through.
        await sender.send(c.to, { type: "text", text: "hello again" });
      } finally {
        await fake.close();
      }
    },
  );
}
