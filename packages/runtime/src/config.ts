import { z } from "zod";

/**
 * Every setting the apps read, from the environment. One place, validated at start-up, so a typo
 * fails loudly instead of running with a default. Documented in the README's configuration table.
 */
const schema = z.object({
  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_PG_DIR: z.string().default(".data/postgres"),
  EMBEDDED_PG_PORT: z.coerce.number().int().positive().default(54329),
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().nonnegative().default(3000),
  /** The address platforms reach this server at; webhook URLs are built from it. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /** Comma-separated `id:base64key`, newest first (see packages/secrets). */
  SECRETS_KEYS: z.string().optional(),
  /** web | worker | all: which roles this process runs. */
  ROLE: z.enum(["web", "worker", "all"]).default("all"),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(10),
  /** How often workers report they are alive, and after how long silent one counts as dead. */
  WORKER_HEARTBEAT_MS: z.coerce.number().int().positive().default(5000),
  WORKER_DEAD_AFTER_MS: z.coerce.number().int().positive().default(30000),
  /** Behind a proxy or load balancer: `true`, or the addresses / CIDRs to trust for X-Forwarded-For. */
  TRUST_PROXY: z.string().optional(),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Deployment-wide token allowed to create tenants through the admin API. */
  ADMIN_TOKEN: z.string().min(16).optional(),
  TELEGRAM_API_ROOT: z.string().url().optional(),
  GRAPH_API_BASE_URL: z.string().url().optional(),
  GRAPH_API_VERSION: z.string().optional(),
  SLACK_API_URL: z.string().url().optional(),
  /** A Slack app distributed to many workspaces through OAuth v2 (all four to enable the install flow). */
  SLACK_CLIENT_ID: z.string().optional(),
  SLACK_CLIENT_SECRET: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_STATE_SECRET: z.string().min(16).optional(),
  SLACK_AUTHORIZE_URL: z.string().url().optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  /** Outgoing calls (fulfillment, event webhooks): hosts / CIDRs exempt from the SSRF guard. */
  EGRESS_ALLOW: z.string().optional(),
  EGRESS_ALLOW_HTTP: z.enum(["true", "false"]).optional(),
});

export type Config = z.infer<typeof schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** What channel drivers read: platform API base URLs (fakes or local servers in tests and demos). */
export function channelEnvironment(config: Config): Record<string, string | undefined> {
  return {
    TELEGRAM_API_ROOT: config.TELEGRAM_API_ROOT,
    GRAPH_API_BASE_URL: config.GRAPH_API_BASE_URL,
    GRAPH_API_VERSION: config.GRAPH_API_VERSION,
    SLACK_API_URL: config.SLACK_API_URL,
  };
}
