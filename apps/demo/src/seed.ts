import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { authenticateApiKey, newKey } from "@cb/admin-api";
import type { Db, Prisma } from "@cb/db";
import { generateSigningSecret } from "@cb/fulfillment";
import type { Runtime } from "@cb/runtime";

/** The demo bot as the local Bot API stand-in knows it. */
export const DEMO_BOT = { token: "100000001:demo-bot-token", username: "DemoShopBot", name: "Demo Shop" };
export const DEMO_TENANT_ID = "00000000-0000-4000-8000-00000000d0e0";
const DEMO_KEY_NAME = "demo";

const quickReplies = (...titles: string[]) => titles.map((title) => ({ title, payload: title }));

/** The demo shop's intents: what the bot understands, what it says, and which backend does the work. */
function intents(endpointId: string): Omit<Prisma.IntentCreateManyInput, "tenantId">[] {
  return [
    {
      name: "greeting",
      examples: [
        "hi",
        "hello",
        "hey there",
        "good morning",
        "good evening",
        "hi bot",
        "/start",
        "hello, anyone there?",
      ],
      responses: [
        {
          type: "text",
          text: "Hello! I'm the Demo Shop assistant. I can track orders, start returns, open support tickets and look up your account.",
          quickReplies: quickReplies("Where is my order?", "Return an item", "Talk to support"),
        },
      ],
    },
    {
      name: "order.status",
      examples: [
        "where is my order",
        "Where is my order?",
        "track my package",
        "has my order shipped yet",
        "what's the status of order 12345",
        "when will my parcel arrive",
        "I'm still waiting for my delivery",
        "track order 10001",
        "where's my stuff",
      ],
      parameters: [
        {
          name: "order_id",
          entity: "@order_id",
          required: true,
          prompts: [
            "What is your order number? (try 12345, 10001 or 20002)",
            "Please type the 5-digit number from your confirmation e-mail.",
          ],
        },
      ],
      responses: [
        { type: "text", text: "I can't reach the order system right now. Please try again in a few minutes." },
      ],
      fulfillmentEndpointId: endpointId,
    },
    {
      name: "order.return",
      examples: [
        "I want to return an item",
        "Return an item",
        "how do I send this back",
        "return order 20002",
        "I'd like a refund",
        "can I return my shoes",
        "start a return",
        "Return it",
      ],
      parameters: [
        { name: "order_id", entity: "@order_id", required: true, prompts: ["Which order would you like to return?"] },
      ],
      responses: [{ type: "text", text: "I can't open returns right now. Please try again later." }],
      fulfillmentEndpointId: endpointId,
    },
    {
      name: "support.ticket",
      examples: [
        "I need to talk to a human",
        "Talk to support",
        "open a support ticket",
        "the product arrived broken",
        "I have a complaint",
        "my item is damaged",
        "can someone call me",
      ],
      responses: [{ type: "text", text: "Our support team is offline; please e-mail support@demo.shop." }],
      fulfillmentEndpointId: endpointId,
    },
    {
      name: "crm.lookup",
      examples: [
        "look up my account",
        "what's my account status",
        "find my customer profile",
        "look up ada@example.com",
        "my email is grace@example.com",
        "check my membership",
      ],
      parameters: [
        {
          name: "email",
          entity: "@sys.email",
          required: true,
          prompts: ["Which e-mail address is your account under? (try ada@example.com)"],
        },
      ],
      responses: [{ type: "text", text: "I can't reach the customer system right now." }],
      fulfillmentEndpointId: endpointId,
    },
    {
      name: "thanks",
      examples: ["thanks", "thank you", "thanks a lot", "cheers", "great, thank you"],
      responses: [{ type: "text", text: "You're welcome! Anything else?" }],
    },
    {
      name: "fallback",
      examples: [],
      isFallback: true,
      responses: [
        {
          type: "text",
          text: "Sorry, I didn't get that. I can track orders, start returns, open support tickets or look up your account.",
          quickReplies: quickReplies("Where is my order?", "Talk to support"),
        },
      ],
    },
  ];
}

/**
 * An admin API key for the demo tenant, kept in a local file (keys are shown only once): the stored key
 * while the API still accepts it as the demo tenant's admin key, else a new one, and the demo keys made
 * before it are revoked (their secrets were only ever in that file).
 */
export async function demoApiKey(db: Db, keyFile: string): Promise<string> {
  if (existsSync(keyFile)) {
    const key = (await readFile(keyFile, "utf8")).trim();
    const principal = await authenticateApiKey(db, key);
    if (principal?.tenantId === DEMO_TENANT_ID && principal.scopes.includes("admin")) return key;
  }
  const key = newKey();
  await db.apiKey.updateMany({
    where: { tenantId: DEMO_TENANT_ID, name: DEMO_KEY_NAME, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  await db.apiKey.create({
    data: {
      id: key.id,
      tenantId: DEMO_TENANT_ID,
      name: DEMO_KEY_NAME,
      scopes: ["admin"],
      secretHash: key.hash,
      hint: key.secret.slice(-4),
    },
  });
  await writeFile(keyFile, `${key.key}\n`, { mode: 0o600 });
  return key.key;
}

/**
 * Creates the demo tenant on first start and refreshes its definitions on every start. Credentials
 * are generated once and kept (sealed) in the database.
 */
export async function seedDemo(
  runtime: Runtime,
  options: { keyFile: string },
): Promise<{
  tenantId: string;
  accountId: string;
  secretToken: string;
  /** The web chat account and the key the shop's own server signs its users' ids with. */
  webchat: { accountId: string; identitySecret: string };
  endpointId: string;
  signingSecret: string;
  apiKey: string;
}> {
  const { db, sealer } = runtime;
  await db.tenant.upsert({
    where: { id: DEMO_TENANT_ID },
    create: { id: DEMO_TENANT_ID, name: "Demo Shop", timezone: "Europe/Berlin" },
    update: {},
  });

  let account = await db.channelAccount.findFirst({ where: { tenantId: DEMO_TENANT_ID, channel: "telegram" } });
  account ??= await db.channelAccount.create({
    data: {
      tenantId: DEMO_TENANT_ID,
      channel: "telegram",
      name: DEMO_BOT.name,
      config: { botId: Number(DEMO_BOT.token.split(":")[0]), username: DEMO_BOT.username },
      secrets: sealer.sealJson({ botToken: DEMO_BOT.token, secretToken: randomBytes(24).toString("base64url") }),
    },
  });
  const { secretToken } = sealer.openJson<{ secretToken: string }>(account.secrets);

  // The shop's website chat (README, Web chat): the demo page embeds its widget.
  let webchat = await db.channelAccount.findFirst({ where: { tenantId: DEMO_TENANT_ID, channel: "webchat" } });
  webchat ??= await db.channelAccount.create({
    data: {
      tenantId: DEMO_TENANT_ID,
      channel: "webchat",
      name: "Demo Shop website",
      secrets: sealer.sealJson({ identitySecret: randomBytes(32).toString("hex") }),
    },
  });
  const { identitySecret } = sealer.openJson<{ identitySecret: string }>(webchat.secrets);

  let endpoint = await db.fulfillmentEndpoint.findFirst({ where: { tenantId: DEMO_TENANT_ID, name: "demo-backends" } });
  endpoint ??= await db.fulfillmentEndpoint.create({
    data: {
      tenantId: DEMO_TENANT_ID,
      name: "demo-backends",
      url: "http://127.0.0.1/fulfillment",
      secrets: sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
    },
  });
  const signingSecret = sealer.openJson<{ signingSecrets: string[] }>(endpoint.secrets!).signingSecrets[0]!;

  await db.entityType.upsert({
    where: { tenantId_name: { tenantId: DEMO_TENANT_ID, name: "order_id" } },
    create: { tenantId: DEMO_TENANT_ID, name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" },
    update: { kind: "pattern", pattern: "\\b\\d{5}\\b" },
  });
  for (const intent of intents(endpoint.id)) {
    const data = { ...intent, tenantId: DEMO_TENANT_ID } as Prisma.IntentUncheckedCreateInput;
    const existing = await db.intent.findUnique({
      where: { tenantId_name: { tenantId: DEMO_TENANT_ID, name: intent.name } },
    });
    // Only a changed definition is written, so an unchanged demo keeps its trained model.
    if (
      !existing ||
      JSON.stringify([existing.examples, existing.parameters, existing.responses]) !==
        JSON.stringify([data.examples, data.parameters ?? [], data.responses])
    ) {
      await db.intent.upsert({
        where: { tenantId_name: { tenantId: DEMO_TENANT_ID, name: intent.name } },
        create: data,
        update: data,
      });
    }
  }
  return {
    tenantId: DEMO_TENANT_ID,
    accountId: account.id,
    secretToken,
    webchat: { accountId: webchat.id, identitySecret },
    endpointId: endpoint.id,
    signingSecret,
    apiKey: await demoApiKey(db, options.keyFile),
  };
}
