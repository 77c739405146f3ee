import { randomBytes } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { TObject } from "typebox";
import type { Channel, ConversationRef, InboundEvent, InboundMessage } from "./message.ts";
import type { MessagingPolicy } from "./policy.ts";
import type { LiveUpdates } from "./live.ts";
import type { LimitsStore, SendLimits } from "./rate-limit.ts";
import type { Reply, SentMessage } from "./reply.ts";

/** A connected account as channel code sees it: secrets already decrypted. */
export interface ChannelAccount<Config = Record<string, unknown>, Secrets = Record<string, string>> {
  id: string;
  tenantId: string;
  channel: Channel;
  config: Config;
  secrets: Secrets;
}

/** Options every channel's webhook plugin receives from the server that mounts it. */
export interface WebhookPluginOptions {
  /** The enabled account of this channel with that id, or null (the route answers 404). */
  loadAccount(accountId: string): Promise<ChannelAccount | null>;
  /**
   * Stores the events durably and enqueues their processing; resolves only once committed.
   * Call it only after the request is verified; acknowledge the platform after it resolves.
   */
  ingest(account: ChannelAccount, events: InboundEvent[]): Promise<void>;
  /**
   * For platforms that send every account's events to one URL (an app installed in many accounts
   * through `install`): the enabled account of this channel whose config has these values.
   */
  findAccount?(match: Record<string, string>): Promise<ChannelAccount | null>;
  /** Credentials of the deployment's own platform app: the values of the driver's `appSecrets` settings. */
  appSecrets?: Record<string, string | undefined>;
  /** The platform says the account is gone (the app uninstalled, its token revoked). */
  disableAccount?(account: ChannelAccount, reason: string): Promise<void>;
  /**
   * For channels that serve their visitors themselves (web chat): the web role's database pool (a
   * pg Pool) for their reads and rate limits, and every process's live events of the tenant's
   * conversations, so that a stream held by one process hears of a reply stored by any other.
   */
  pool?: LimitsStore;
  live?: LiveUpdates;
}

export interface SendContext {
  /** The message being answered (threads, reply-to, answering button presses). */
  inReplyTo?: InboundMessage;
  /** Outside the reply window: a message tag the policy permits (Messenger POST_PURCHASE_UPDATE, HUMAN_AGENT). */
  messageTag?: string;
}

/** Sends replies on one account. Throws PlatformError (retryable or not) on failure. */
export interface ChannelSender {
  send(to: ConversationRef, reply: Reply, context?: SendContext): Promise<SentMessage[]>;
  /** Tells the platform a button press was handled (Telegram answerCallbackQuery); optional. */
  acknowledge?(message: InboundMessage): Promise<void>;
  /**
   * Whether the platform reports delivery by message id (WhatsApp, Messenger), so that a report can
   * arrive before the id is recorded: then recording a sent message looks for such reports. False
   * for platforms that never report (Telegram), sparing every reply that look. Default true.
   */
  readonly reportsDelivery?: boolean;
  /** The channel it sends on (set by the account directory; metrics label retries with it). */
  readonly channel?: Channel;
}

/** Platform API base URLs and the like, from deployment configuration (fakes in tests). */
export type ChannelEnvironment = Record<string, string | undefined>;

/** A random token for a platform to send back (Telegram's secret_token, Meta's verify token). */
export const randomToken = () => randomBytes(24).toString("base64url");

/** What a business supplied to connect an account, already checked against the driver's schemas. */
export interface ConnectInput {
  credentials: Record<string, string>;
  config: Record<string, unknown>;
  env: ChannelEnvironment;
}

/**
 * Connecting, in two steps around storing the account. `prepare` runs before anything is stored:
 * it checks the credentials with the platform (Telegram getMe) and returns the config it learnt and
 * the secrets it generated (a verify token). `register` runs once the account is stored, with the
 * webhook URL that names it: it tells the platform (Telegram setWebhook) and returns what the
 * business must configure on the platform's side; when it throws, the account is removed again.
 * Failures are HttpErrors (400 bad credentials, 502 platform error), never carrying a secret.
 */
export interface ChannelConnection {
  prepare?(input: ConnectInput): Promise<{ config?: Record<string, unknown>; secrets?: Record<string, string> }>;
  register(account: ChannelAccount, webhookUrl: string, env: ChannelEnvironment): Promise<ChannelSetup>;
  /** The platform's own view of the webhook (Telegram getWebhookInfo); absent: it has none. */
  webhookInfo?(account: ChannelAccount, env: ChannelEnvironment): Promise<Record<string, unknown>>;
  /** Undoes `register` when the account is deleted (Telegram deleteWebhook). */
  disconnect?(account: ChannelAccount, env: ChannelEnvironment): Promise<void>;
}

/** What the business does on the platform's side: fields (URLs, tokens, events) and a text to follow. */
export interface ChannelSetup {
  /** Plain-text steps, naming the platform console's own menus. */
  instructions: string;
  [field: string]: unknown;
}

/**
 * A channel's rendering limits, as its platform documents them. `text` is the longest text message;
 * the rest are the channel's own names (buttons per message, cards per carousel, …). The conformance
 * suite renders every reply type well past them and the fake platform must accept the result.
 */
export interface ChannelLimits {
  text: number;
  [limit: string]: number;
}

/** How Dialogflow names the channel, for fulfillment services written for Dialogflow ES. */
export interface DialogflowNames {
  /** originalDetectIntentRequest.source; absent where Dialogflow has no integration (WhatsApp). */
  source?: string;
  /** The key of the channel's own payload in fulfillment messages (`payload.telegram`, `payload.facebook`). */
  payloadKey: string;
  /** A fulfillment message's `platform` (TELEGRAM, FACEBOOK). */
  platform: string;
  /** The agent-export platform names an imported response for this channel carries ("facebook"). */
  importNames?: readonly string[];
  /**
   * The events a customer's first message fires on this channel, most specific first (Telegram's
   * /start: TELEGRAM_WELCOME then WELCOME); none when the message is not a start.
   */
  welcomeEvents?(message: InboundMessage): string[];
  /**
   * A Dialogflow custom payload for this channel (the value under `payloadKey`) as the `custom`
   * reply's payload the sender takes, or undefined when it is not one; absent: taken as it is.
   */
  customPayload?(payload: Record<string, unknown>): Record<string, unknown> | undefined;
}

/** A deployment setting a channel reads: an environment variable, validated with the configuration. */
export interface ChannelSetting {
  /** What it is: the configuration's error messages name the setting with it. */
  description: string;
  /** A credential: logs redact its name, and it is not part of the drivers' `env`. */
  secret?: boolean;
  /** Must be a URL (a platform API's base: a proxy, or a fake in tests). */
  url?: boolean;
  /** The fewest characters it may have (a key that signs). */
  minLength?: number;
}

/** An installation the platform's OAuth flow returned, as the account it becomes. */
export interface ChannelInstallation {
  /** The account's name when it is new (the platform account's own name). */
  name: string;
  /** Its config: includes the driver's `install.accountKey`, the platform's id of the account. */
  config: Record<string, unknown>;
  /** Its secrets (stored sealed). */
  secrets: Record<string, string>;
}

/** What the server gives a driver's install routes. */
export interface InstallPluginOptions {
  /** The values of the driver's settings, every one of `install.requires` among them. */
  settings: Readonly<Record<string, string | undefined>>;
  /** The address the platform sends the browser back to (PUBLIC_BASE_URL), without a trailing slash. */
  baseUrl: string;
  /**
   * Stores the installation as an account of the tenant: one account per `accountKey` value among
   * the installed ones, refreshed and re-enabled by a reinstall, its config marked `installedVia:
   * "oauth"` (what `findAccount` may then require). Throws, storing nothing, when that platform
   * account is installed for another tenant: it is never taken over.
   */
  saveInstallation(tenantId: string, installation: ChannelInstallation): Promise<void>;
}

/**
 * A deployment-wide platform app that businesses install into their own platform accounts through
 * OAuth (one app in many workspaces). The admin API hands a tenant a signed link (`link`); its
 * routes run the platform's flow and hand each installation to `saveInstallation`.
 */
export interface ChannelInstall {
  /** The driver's settings the flow cannot work without: with all of them set, it is enabled. */
  requires: readonly string[];
  /** The config field holding the platform's id of an installed account (one account per value). */
  accountKey: string;
  /** A link that installs the app for this tenant, signed with the settings, valid for ttlMs. */
  link(
    tenantId: string,
    options: { settings: Readonly<Record<string, string | undefined>>; baseUrl: string; ttlMs: number },
  ): string;
  /** Mounted at the server's root: the public install and redirect routes. */
  routes: FastifyPluginAsync<InstallPluginOptions>;
}

/** The settings an install flow requires that are unset: with none, the flow is enabled. */
export const missingSettings = (install: ChannelInstall, settings: Readonly<Record<string, string | undefined>>) =>
  install.requires.filter((name) => !settings[name]);

/**
 * Everything the system knows about one channel. A channel package exports one as `driver`; the
 * registry (@cb/channels) lists them, and every other package reads channels from there.
 */
export interface ChannelDriver {
  /** Lower-case id: ChannelAccount.channel, InboundMessage.channel, /webhooks/<name>, reply `custom.channel`. */
  name: Channel;
  /** As people read it: "Telegram", "WhatsApp". */
  displayName: string;
  /** The secrets a business supplies to connect an account (stored sealed, never returned). */
  credentials: TObject;
  /** The settings it supplies with them (stored as they are, returned in the account). */
  config: TObject;
  /**
   * Field names that hold this channel's secrets, anywhere in a log line (credentials, generated
   * tokens such as a verify token) and headers that carry them (lower case). Logs redact them.
   */
  secretFields: readonly string[];
  secretHeaders?: readonly string[];
  /**
   * The deployment settings it reads, by environment variable name: the configuration validates
   * them, logs redact the secret ones, and the others are the `env` its connection and sender get.
   */
  settings?: Readonly<Record<string, ChannelSetting>>;
  /**
   * Settings the webhook needs besides an account's secrets (an installed app's signing secret):
   * option name → setting name. Passed to the plugin as `appSecrets`.
   */
  appSecrets?: Readonly<Record<string, string>>;
  /** Its deployment-wide app, installed into many platform accounts through OAuth, if it has one. */
  install?: ChannelInstall;
  connection: ChannelConnection;
  /** Mounted at /webhooks/<name>: verifies each request, normalizes it, and hands the events to `ingest`. */
  webhook: FastifyPluginAsync<WebhookPluginOptions>;
  /** The platform messages a reply becomes, within `limits` (what the sender sends). */
  render(reply: Reply, context?: SendContext): unknown[];
  limits: ChannelLimits;
  /**
   * Its calls keep the platform's limits, shared with every other process through `limits`; a 429
   * blocks the key it names for the time the platform asks (SendLimits.block), then the call fails
   * as retryable.
   */
  createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender;
  /** When the bot, a notification or a human agent may write, and how outside that time. */
  policy: MessagingPolicy;
  dialogflow: DialogflowNames;
}
