import { channelSettings } from "@cb/channels";
import type { ChannelSetting } from "@cb/core";
import { createLogger } from "@cb/logging";
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
  /**
   * Connections a process keeps to PostgreSQL for its own queries (jobs and the web role's
   * requests; graphile-worker's fetching has its own few). Unset: 8 for a worker started on its
   * own, 20 otherwise (see POOL_SIZE).
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().optional(),
  /** Jobs one worker process has in flight at once: most of a turn is waiting on HTTP, which costs a promise. */
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(300),
  /** How long a job may run before it is aborted and retried. */
  WORKER_MAX_RUN_MS: z.coerce.number().int().positive().default(300_000),
  /** How often workers report they are alive, and after how long silent one counts as dead. */
  WORKER_HEARTBEAT_MS: z.coerce.number().int().positive().default(5000),
  WORKER_DEAD_AFTER_MS: z.coerce.number().int().positive().default(30000),
  /** Megabytes of NLU models a worker keeps in memory; the least recently used are loaded again from the database. */
  NLU_MODEL_CACHE_MB: z.coerce.number().positive().default(256),
  /** NLU trainings one worker runs at once, each in a thread of its own. */
  NLU_TRAINING_CONCURRENCY: z.coerce.number().int().positive().default(1),
  /**
   * on: English tenants' models also learn from a pretrained sentence encoder, run in one thread per
   * worker (~100-200 MB more memory); off: the n-gram models alone, and no encoder is loaded.
   */
  NLU_SENTENCE_ENCODER: z.enum(["on", "off"]).default("on"),
  /** Behind a proxy or load balancer: `true`, or the addresses / CIDRs to trust for X-Forwarded-For. */
  TRUST_PROXY: z.string().optional(),
  /** Where a worker started on its own answers /healthz and /readyz (0: a free port); unset: no health server. */
  WORKER_HEALTH_PORT: z.coerce.number().int().nonnegative().optional(),
  /** The operator console's built files (default: apps/console/dist of this checkout). */
  CONSOLE_DIR: z.string().optional(),
  /** When set, GET /metrics (web role, worker health port) asks for `Authorization: Bearer <it>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Deployment-wide token allowed to create tenants through the admin API. */
  ADMIN_TOKEN: z.string().min(16).optional(),
  /** Operators' console sessions: ended after this long unused, and this long after sign-in whatever the use. */
  SESSION_IDLE_HOURS: z.coerce.number().positive().default(12),
  SESSION_MAX_DAYS: z.coerce.number().positive().default(7),
  /** The session cookie's Secure attribute: auto sets it except on plain http from a loopback address. */
  SESSION_COOKIE_SECURE: z.enum(["auto", "always", "never"]).default("auto"),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  /** Outgoing calls (fulfillment, event webhooks): hosts / CIDRs exempt from the SSRF guard. */
  EGRESS_ALLOW: z.string().optional(),
  EGRESS_ALLOW_HTTP: z.enum(["true", "false"]).optional(),
});

/** A channel's setting as its driver describes it (ChannelDriver.settings). */
const channelSetting = (setting: ChannelSetting) => {
  let value = setting.url ? z.string().url() : z.string();
  if (setting.minLength) value = value.min(setting.minLength);
  return value.optional();
};
/** The channels' own settings (platform API URLs, an installed app's credentials), from their drivers. */
const channelSchema = z.object(
  Object.fromEntries(Object.entries(channelSettings).map(([name, setting]) => [name, channelSetting(setting)])),
);

type Settings = z.infer<typeof schema>;
export type Config = Settings & {
  DATABASE_POOL_SIZE: number;
  /** The channel drivers' settings by name, each unset one undefined. */
  channelSettings: Readonly<Record<string, string | undefined>>;
};
export type Role = "web" | "worker";

/**
 * DATABASE_POOL_SIZE when unset. A worker's hundreds of turns in flight wait for its connections in
 * line, the turns of conversations under way and the oldest first (@cb/db connection-order.ts);
 * the fewer connections, the more of the waiting happens in that line rather than inside
 * PostgreSQL, where every statement running shares the CPU alike. The `spikes` scenario (two
 * workers, 2 cores, 6 December): median 0.68–0.71 s with 8 connections each, 2.3–5.5 s with 20.
 * The web role's requests wait for nothing of the kind, and keep 20.
 */
export const POOL_SIZE: Record<Role | "all", number> = { web: 20, worker: 8, all: 20 };

/**
 * What a role started on its own cannot work without in a deployment. The web role builds webhook
 * URLs from PUBLIC_BASE_URL and creates tenants only with ADMIN_TOKEN; both roles open sealed
 * credentials with SECRETS_KEYS.
 */
export const REQUIRED_SETTINGS: Record<Role, (keyof Settings)[]> = {
  web: ["DATABASE_URL", "SECRETS_KEYS", "PUBLIC_BASE_URL", "ADMIN_TOKEN"],
  worker: ["DATABASE_URL", "SECRETS_KEYS"],
};

/** Names what is wrong with the configuration, never the values (some are secrets). */
export class ConfigError extends Error {}

/**
 * The settings from `env`. With `role`, that role's required settings must be set too, unless the
 * role runs on the embedded database of a developer's machine (DATABASE_URL unset, NODE_ENV not
 * production). An empty variable counts as unset. Every problem is listed in one ConfigError.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, role?: Role): Config {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = schema.safeParse(set);
  const channels = channelSchema.safeParse(set);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)),
    // A channel's setting is named with what its driver says it is.
    ...(channels.success
      ? []
      : channels.error.issues.map((i) => {
          const name = String(i.path[0]);
          return `${name} (${channelSettings[name]?.description}): ${i.message}`;
        })),
  ];
  if (role && (env.NODE_ENV === "production" || set.DATABASE_URL)) {
    const missing = REQUIRED_SETTINGS[role].filter((name) => set[name] === undefined);
    if (missing.length) problems.unshift(`missing required settings for the ${role} role: ${missing.join(", ")}`);
  }
  if (!parsed.success || !channels.success || problems.length)
    throw new ConfigError(`invalid configuration: ${problems.join("; ")} (see README, Configuration)`);
  return {
    ...parsed.data,
    DATABASE_POOL_SIZE: parsed.data.DATABASE_POOL_SIZE ?? POOL_SIZE[role ?? "all"],
    channelSettings: channels.data,
  };
}

/** loadConfig for a role's main: a configuration error ends the process with its message and status 78 (EX_CONFIG). */
export function loadRoleConfig(role: Role, env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env, role);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // LOG_LEVEL itself may be what is wrong: this one line is written at the default level, to
    // stderr (synchronous for files and pipes, so it is out before the exit).
    createLogger({ destination: process.stderr }).fatal(err.message);
    process.exit(78);
  }
}

/**
 * What channel drivers read as their `env`: their settings that are not secret, the platform API
 * base URLs (fakes or local servers in tests and demos).
 */
export function channelEnvironment(config: Config): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(channelSettings)
      .filter(([, setting]) => !setting.secret)
      .map(([name]) => [name, config.channelSettings[name]]),
  );
}
