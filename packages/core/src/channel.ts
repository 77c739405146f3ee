import type { FastifyPluginAsync } from "fastify";
import type { Channel, ConversationRef, InboundEvent, InboundMessage } from "./message.ts";
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
   * For platforms that send every account's events to one URL (a Slack app installed in many
   * workspaces): the enabled account of this channel whose config has these values.
   */
  findAccount?(match: Record<string, string>): Promise<ChannelAccount | null>;
  /** Credentials of the deployment's own platform app (a Slack OAuth app's signing secret). */
  appSecrets?: Record<string, string | undefined>;
  /** The platform says the account is gone (Slack app_uninstalled, tokens_revoked). */
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
  /** Messenger outside the 24-hour window: a permitted message tag (e.g. POST_PURCHASE_UPDATE). */
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
   * for platforms that never report (Telegram, Slack), sparing every reply that look. Default true.
   */
  readonly reportsDelivery?: boolean;
  /** The channel it sends on (set by the account directory; metrics label retries with it). */
  readonly channel?: Channel;
}

/** Platform API base URLs and the like, from deployment configuration (fakes in tests). */
export type ChannelEnvironment = Record<string, string | undefined>;

/** Everything the apps need to know about one channel. */
export interface ChannelDriver {
  channel: Channel;
  /** Mounted at /webhooks/<channel>; registers its own `/:accountId` routes. */
  webhook: FastifyPluginAsync<WebhookPluginOptions>;
  /** Its calls keep the platform's limits, shared with every other process through `limits`. */
  createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender;
}
