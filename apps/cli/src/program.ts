import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { createDb } from "@cb/db";
import { createSealer, parseKeyRing } from "@cb/secrets";
import { api } from "./api.ts";
import { readTestFile, renderReport } from "./conversation-tests.ts";
import { renderEvaluation, type Evaluation } from "./evaluation.ts";
import { connection, explainRefusal } from "./credentials.ts";
import { field, render, type Column, type Row } from "./output.ts";
import { rotateSecrets } from "./rotate.ts";

const pairs = (value: string, previous: Record<string, string> = {}) => {
  const at = value.indexOf("=");
  if (at < 1) throw new Error(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
};
const many = (value: string, previous: string[] = []) => [...previous, value];
const list = (value: string) => value.split(",").map((s) => s.trim());
const count = (name: string): Column => ({ header: name, value: (row) => (row[name] as unknown[]).length });

/** `<channel account id>:<chat id>`, as a contact's identity. */
const identity = (value: string, previous: { channelAccountId: string; externalId: string }[] = []) => {
  const at = value.indexOf(":");
  if (at < 1) throw new Error(`expected <channel account id>:<chat id>, got "${value}"`);
  return [...previous, { channelAccountId: value.slice(0, at), externalId: value.slice(at + 1) }];
};

interface ContactFlags {
  customerId?: string;
  phone?: string;
  email?: string;
  name?: string;
  identity?: { channelAccountId: string; externalId: string }[];
}
/** The contact fields given; an empty value clears the field (null). */
const contactBody = (o: ContactFlags) => {
  const body: Row = {};
  for (const name of ["customerId", "phone", "email", "name"] as const)
    if (o[name] !== undefined) body[name] = o[name] === "" ? null : o[name];
  if (o.identity) body.identities = o.identity;
  return body;
};

/** What a message said, whichever way it is shaped (inbound text, a reply's text or title). */
const said = (row: Row) => {
  const content = (row.content ?? {}) as Record<string, unknown>;
  return content.text ?? content.title ?? content.caption ?? content.type;
};

const COLUMNS: Record<string, Column[]> = {
  intents: [
    field("name"),
    count("examples"),
    { header: "parameters", value: (r) => (r.parameters as { name: string }[]).map((p) => p.name).join(", ") },
    count("responses"),
    field("fulfillmentEndpointId", "fulfillment"),
    field("isFallback", "fallback"),
    field("id"),
  ],
  messages: [
    field("createdAt"),
    field("direction"),
    field("status"),
    { header: "text", value: said },
    {
      header: "intent",
      value: (r) => {
        const turn = r.turn as { intent?: string; confidence?: number } | null;
        return turn?.intent ? `${turn.intent} (${turn.confidence?.toFixed(2)})` : "";
      },
    },
  ],
  contacts: [
    field("id"),
    field("customerId"),
    field("name"),
    field("phone"),
    field("email"),
    field("optedOut"),
    {
      header: "identities",
      value: (r) => (r.identities as { externalId: string }[]).map((i) => i.externalId).join(", "),
    },
  ],
  operators: [field("email"), field("name"), field("role"), field("disabled"), field("lastLoginAt"), field("id")],
  rules: [
    field("name"),
    field("eventType"),
    { header: "channels", value: (r) => (r.channelOrder as string[]).join(" → ") },
    field("enabled"),
    field("id"),
  ],
};

/**
 * The `cb` command: the admin API (server and key from --url / --key, CB_API_URL / CB_API_KEY, or a running
 * demo's .data), printed as tables or, with --json, as the API's JSON; and local maintenance.
 */
export function program(env: Record<string, string | undefined>, write: (text: string) => void): Command {
  const cb = new Command("cb")
    .description("Manage the chatbot backend from the command line")
    .option("--url <url>", "the server (or CB_API_URL; default: the running demo's, else http://127.0.0.1:3000)")
    .option("--key <key>", "an API key (or CB_API_KEY; default: the demo tenant's, in .data/demo-api-key)")
    .option("--json", "print the API's JSON instead of tables");
  const print = (value: unknown, columns?: Column[]) =>
    write(cb.opts().json ? JSON.stringify(value, null, 2) : render(value, columns));
  const call = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const to = connection(env, cb.opts());
    return api(to, method, path, body, contentType).catch((err) => {
      throw explainRefusal(err, to.keyFrom);
    });
  };
  /** A list command: one page (--limit, --cursor), as a table of `columns`. */
  const listing = (command: Command, path: (...args: string[]) => string, columns?: Column[]) =>
    command
      .option("--limit <n>", "rows per page (1-200)", (v) => Number.parseInt(v, 10))
      .option("--cursor <cursor>", "the page after the one that printed this cursor")
      .action(async (...args: unknown[]) => {
        const o = command.opts<{ limit?: number; cursor?: string }>();
        const query = new URLSearchParams();
        if (o.limit !== undefined) query.set("limit", String(o.limit));
        if (o.cursor) query.set("cursor", o.cursor);
        const base = path(...(args.filter((a) => typeof a === "string") as string[]));
        print(await call("GET", `${base}${query.size ? `${base.includes("?") ? "&" : "?"}${query}` : ""}`), columns);
      });

  const tenant = cb.command("tenant").description("tenants");
  tenant
    .command("create <name>")
    .description("create a tenant and its first admin key (needs the operator token in CB_ADMIN_TOKEN)")
    .option("--timezone <zone>", "IANA time zone", "UTC")
    .option("--language <code>", "BCP-47 language", "en")
    .action(async (name: string, o: { timezone: string; language: string }) => {
      const { url } = connection(env, cb.opts());
      print(
        await api({ url, key: env.CB_ADMIN_TOKEN }, "POST", "/v1/tenants", {
          name,
          timezone: o.timezone,
          language: o.language,
        }),
      );
    });

  const key = cb.command("key").description("API keys");
  key
    .command("create <name>")
    .option("--scopes <list>", "admin, read-only, events (comma-separated)", "admin")
    .action(async (name: string, o: { scopes: string }) =>
      print(await call("POST", "/v1/api-keys", { name, scopes: list(o.scopes) })),
    );
  listing(key.command("list").description("API keys (hints only)"), () => "/v1/api-keys");
  key.command("revoke <id>").action(async (id: string) => print(await call("DELETE", `/v1/api-keys/${id}`)));

  const operators = cb
    .command("operators")
    .description("people who sign in to the console: list (the default), invite, invite again");
  listing(
    operators.command("list", { isDefault: true }).description("the operators"),
    () => "/v1/operators",
    COLUMNS.operators,
  );
  operators
    .command("invite <email>")
    .description("invite an operator (the invitation token is printed once; it sets a password within 7 days)")
    .option("--role <role>", "admin, agent or viewer", "agent")
    .option("--name <name>", "the operator's name")
    .action(async (email: string, o: { role: string; name?: string }) =>
      print(await call("POST", "/v1/operators", { email, role: o.role, ...(o.name ? { name: o.name } : {}) })),
    );
  operators
    .command("reinvite <id>")
    .description("a new invitation token for an operator (also a password reset), printed once")
    .action(async (id: string) => print(await call("POST", `/v1/operators/${id}/invitation`)));

  cb.command("connect <channel> <name>")
    .description("connect a channel account, on any channel GET /v1/channels lists (its credentials and config there)")
    .option("--credential <key=value>", "a credential, e.g. botToken=123:ABC (repeatable)", pairs, {})
    .option("--config <key=value>", "a setting, e.g. phoneNumberId=1065… (repeatable)", pairs, {})
    .action(
      async (
        channel: string,
        name: string,
        o: { credential: Record<string, string>; config: Record<string, string> },
      ) =>
        print(
          await call("POST", "/v1/channel-accounts", { channel, name, credentials: o.credential, config: o.config }),
        ),
    );
  listing(cb.command("channels").description("connected channel accounts"), () => "/v1/channel-accounts", [
    field("id"),
    field("channel"),
    field("name"),
    field("enabled"),
    field("webhookUrl"),
  ]);

  cb.command("import <zip>")
    .description("import a Dialogflow ES agent export")
    .option("--endpoint <id>", "fulfillment endpoint for intents that used the webhook")
    .action(async (zip: string, o: { endpoint?: string }) =>
      print(
        await call(
          "POST",
          `/v1/agent-import${o.endpoint ? `?fulfillmentEndpointId=${o.endpoint}` : ""}`,
          await readFile(zip),
          "application/zip",
        ),
      ),
    );

  const intents = cb.command("intents").description("intents: list (the default), create, test a phrase");
  listing(
    intents.command("list", { isDefault: true }).description("the intents"),
    () => "/v1/intents",
    COLUMNS.intents,
  );
  intents
    .command("create <name>")
    .description("create an intent (a whole definition, as the API takes it, with --file)")
    .option("--example <phrase>", "a training phrase (repeatable)", many, [])
    .option("--response <text>", "a text response (repeatable)", many, [])
    .option("--endpoint <id>", "the fulfillment endpoint that answers it")
    .option("--fallback", "the intent for what nothing else matches")
    .option("--file <intent.json>", "the definition (parameters, contexts, …); the flags add to it")
    .action(
      async (
        name: string,
        o: { example: string[]; response: string[]; endpoint?: string; fallback?: boolean; file?: string },
      ) => {
        const base = o.file ? (JSON.parse(await readFile(o.file, "utf8")) as Row) : {};
        const examples = [...((base.examples as string[] | undefined) ?? []), ...o.example];
        const responses = [
          ...((base.responses as Row[] | undefined) ?? []),
          ...o.response.map((text) => ({ type: "text", text })),
        ];
        print(
          await call("POST", "/v1/intents", {
            ...base,
            name,
            examples,
            ...(responses.length ? { responses } : {}),
            ...(o.endpoint ? { fulfillmentEndpointId: o.endpoint } : {}),
            ...(o.fallback ? { isFallback: true } : {}),
          }),
        );
      },
    );
  intents
    .command("test <phrase...>")
    .description("which intent a phrase matches, with its confidence and parameters (nothing is sent)")
    .action(async (words: string[]) => print(await call("POST", "/v1/intents/test", { text: words.join(" ") })));

  cb.command("evaluation")
    .description("the model report: cross-validation on the tenant's examples (computed by a worker when data changed)")
    .option("--wait", "wait until the report of the training data as it is has been computed")
    .option("--timeout <seconds>", "how long --wait waits", (v) => Number.parseFloat(v), 300)
    .option("--every <seconds>", "how often --wait asks (the API's Retry-After)", (v) => Number.parseFloat(v), 5)
    .action(async (o: { wait?: boolean; timeout: number; every: number }) => {
      const until = Date.now() + o.timeout * 1000;
      let evaluation = (await call("GET", "/v1/nlu/evaluation")) as Evaluation;
      while (o.wait && evaluation.status === "computing") {
        if (Date.now() >= until) throw new Error(`the report was not ready within ${o.timeout} s`);
        await new Promise((resolve) => setTimeout(resolve, o.every * 1000));
        evaluation = (await call("GET", "/v1/nlu/evaluation")) as Evaluation;
      }
      write(cb.opts().json ? JSON.stringify(evaluation, null, 2) : renderEvaluation(evaluation));
    });

  cb.command("test <file>")
    .description(
      "run a YAML file of conversation tests against the tenant's live configuration (exits non-zero when one fails)",
    )
    .action(async (file: string) => {
      const report = (await call("POST", "/v1/conversation-tests", await readTestFile(file))) as Parameters<
        typeof renderReport
      >[0];
      write(cb.opts().json ? JSON.stringify(report, null, 2) : renderReport(report));
      const failed = report.conversations.filter((c) => !c.passed).length;
      if (failed) throw new Error(`${failed} of ${report.conversations.length} conversations failed`);
    });

  listing(cb.command("conversations").description("recent conversations"), () => "/v1/conversations", [
    field("id"),
    field("channelAccountId"),
    field("externalId"),
    field("lastInboundAt"),
  ]);
  listing(
    cb.command("messages <conversationId>").description("a conversation's messages, newest first"),
    (id) => `/v1/conversations/${id}/messages`,
    COLUMNS.messages,
  );

  const contacts = cb
    .command("contacts")
    .description("contacts notifications reach: list (the default), create, update, delete");
  listing(
    contacts.command("list", { isDefault: true }).description("the contacts"),
    () => "/v1/contacts",
    COLUMNS.contacts,
  );
  const contactFlags = (command: Command) =>
    command
      .option("--customer-id <id>", "the business's own id for the customer")
      .option("--phone <number>", "a phone number (stored as E.164)")
      .option("--email <address>", "an e-mail address")
      .option("--name <name>", "the customer's name")
      .option(
        "--identity <account:chat>",
        "a chat on a channel account, <channel account id>:<chat id> (repeatable)",
        identity,
      );
  contactFlags(contacts.command("create").description("create a contact")).action(async (o: ContactFlags) =>
    print(await call("POST", "/v1/contacts", contactBody(o))),
  );
  contactFlags(
    contacts
      .command("update <id>")
      .description('change a contact: the fields given replace its own ("" clears one; --identity replaces all)'),
  ).action(async (id: string, o: ContactFlags) => print(await call("PATCH", `/v1/contacts/${id}`, contactBody(o))));
  contacts
    .command("delete <id>")
    .description("delete a contact")
    .action(async (id: string) => print(await call("DELETE", `/v1/contacts/${id}`)));

  const notifications = cb.command("notifications").description("notifications: the log (the default), the rules");
  listing(
    notifications.command("list", { isDefault: true }).description("each notification's life, newest first"),
    () => "/v1/notifications",
  );
  listing(
    notifications.command("rules").description("the notification rules"),
    () => "/v1/notification-rules",
    COLUMNS.rules,
  );
  notifications
    .command("cancel <id>")
    .description("cancel a scheduled notification (a delayed rule's, a reminder, a follow-up)")
    .action(async (id: string) => print(await call("POST", `/v1/notifications/${id}/cancel`)));

  cb.command("subscribe <url>")
    .description("subscribe an endpoint to event webhooks (the signing secret is printed once)")
    .option("--events <list>", "event types, comma-separated, or *", "*")
    .action(async (url: string, o: { events: string }) =>
      print(await call("POST", "/v1/event-subscriptions", { url, eventTypes: list(o.events) })),
    );
  listing(
    cb.command("deliveries <subscriptionId>").description("an event subscription's deliveries"),
    (id) => `/v1/event-subscriptions/${id}/deliveries`,
  );
  cb.command("replay <deliveryId>")
    .description("deliver an event again")
    .action(async (id: string) => print(await call("POST", `/v1/deliveries/${id}/replay`)));

  cb.command("rotate-secrets")
    .description("re-seal stored credentials with the newest key in SECRETS_KEYS (talks to DATABASE_URL directly)")
    .action(async () => {
      if (!env.DATABASE_URL || !env.SECRETS_KEYS) throw new Error("rotate-secrets needs DATABASE_URL and SECRETS_KEYS");
      const db = createDb(env.DATABASE_URL, { max: 2 });
      try {
        print(await rotateSecrets(db, createSealer(parseKeyRing(env.SECRETS_KEYS))));
      } finally {
        await db.$disconnect();
      }
    });
  return cb;
}
