import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { createDb } from "@cb/db";
import { createSealer, parseKeyRing } from "@cb/secrets";
import { api } from "./api.ts";
import { rotateSecrets } from "./rotate.ts";

const pairs = (value: string, previous: Record<string, string> = {}) => {
  const at = value.indexOf("=");
  if (at < 1) throw new Error(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
};

/** The `cb` command: admin API calls (CB_API_URL, CB_API_KEY) and local maintenance. */
export function program(env: Record<string, string | undefined>, print: (value: unknown) => void): Command {
  const cb = new Command("cb")
    .description("Manage the chatbot backend from the command line")
    .option("--url <url>", "the server", env.CB_API_URL ?? "http://127.0.0.1:3000")
    .option("--key <key>", "an API key (or CB_API_KEY)", env.CB_API_KEY);
  const options = () => ({ url: cb.opts().url as string, key: cb.opts().key as string | undefined });
  const run = (fn: () => Promise<unknown>) => async () => print(await fn());

  const tenant = cb.command("tenant").description("tenants");
  tenant
    .command("create <name>")
    .description("create a tenant and its first admin key (needs the operator token in CB_ADMIN_TOKEN)")
    .option("--timezone <zone>", "IANA time zone", "UTC")
    .option("--language <code>", "BCP-47 language", "en")
    .action((name: string, o: { timezone: string; language: string }) =>
      run(() =>
        api({ url: options().url, key: env.CB_ADMIN_TOKEN }, "POST", "/v1/tenants", {
          name,
          timezone: o.timezone,
          language: o.language,
        }),
      )(),
    );

  const key = cb.command("key").description("API keys");
  key
    .command("create <name>")
    .option("--scopes <list>", "admin, read-only, events (comma-separated)", "admin")
    .action((name: string, o: { scopes: string }) =>
      run(() => api(options(), "POST", "/v1/api-keys", { name, scopes: o.scopes.split(",").map((s) => s.trim()) }))(),
    );
  key.command("list").action(run(() => api(options(), "GET", "/v1/api-keys")));
  key.command("revoke <id>").action((id: string) => run(() => api(options(), "DELETE", `/v1/api-keys/${id}`))());

  cb.command("connect <channel> <name>")
    .description("connect a channel account (telegram, whatsapp, messenger, slack)")
    .option("--credential <key=value>", "a credential, e.g. botToken=123:ABC (repeatable)", pairs, {})
    .option("--config <key=value>", "a setting, e.g. phoneNumberId=1065… (repeatable)", pairs, {})
    .action(
      (channel: string, name: string, o: { credential: Record<string, string>; config: Record<string, string> }) =>
        run(() =>
          api(options(), "POST", "/v1/channel-accounts", {
            channel,
            name,
            credentials: o.credential,
            config: o.config,
          }),
        )(),
    );
  cb.command("channels")
    .description("list connected channel accounts")
    .action(run(() => api(options(), "GET", "/v1/channel-accounts")));

  cb.command("import <zip>")
    .description("import a Dialogflow ES agent export")
    .option("--endpoint <id>", "fulfillment endpoint for intents that used the webhook")
    .action((zip: string, o: { endpoint?: string }) =>
      run(async () =>
        api(
          options(),
          "POST",
          `/v1/agent-import${o.endpoint ? `?fulfillmentEndpointId=${o.endpoint}` : ""}`,
          await readFile(zip),
          "application/zip",
        ),
      )(),
    );
  cb.command("intents")
    .description("list intents")
    .action(run(() => api(options(), "GET", "/v1/intents?limit=200")));
  cb.command("conversations")
    .description("list recent conversations")
    .action(run(() => api(options(), "GET", "/v1/conversations")));
  cb.command("messages <conversationId>")
    .description("a conversation's messages")
    .action((id: string) => run(() => api(options(), "GET", `/v1/conversations/${id}/messages`))());

  cb.command("subscribe <url>")
    .description("subscribe an endpoint to event webhooks (the signing secret is printed once)")
    .option("--events <list>", "event types, comma-separated, or *", "*")
    .action((url: string, o: { events: string }) =>
      run(() =>
        api(options(), "POST", "/v1/event-subscriptions", {
          url,
          eventTypes: o.events.split(",").map((e) => e.trim()),
        }),
      )(),
    );
  cb.command("deliveries <subscriptionId>")
    .description("an event subscription's deliveries")
    .action((id: string) => run(() => api(options(), "GET", `/v1/event-subscriptions/${id}/deliveries`))());
  cb.command("replay <deliveryId>")
    .description("deliver an event again")
    .action((id: string) => run(() => api(options(), "POST", `/v1/deliveries/${id}/replay`))());

  cb.command("rotate-secrets")
    .description("re-seal stored credentials with the newest key in SECRETS_KEYS (talks to DATABASE_URL directly)")
    .action(
      run(async () => {
        if (!env.DATABASE_URL || !env.SECRETS_KEYS)
          throw new Error("rotate-secrets needs DATABASE_URL and SECRETS_KEYS");
        const db = createDb(env.DATABASE_URL, { max: 2 });
        try {
          return await rotateSecrets(db, createSealer(parseKeyRing(env.SECRETS_KEYS)));
        } finally {
          await db.$disconnect();
        }
      }),
    );
  return cb;
}
