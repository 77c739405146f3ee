import type { Channel, ChannelAccount, ChannelDriver, ChannelEnvironment, ChannelSender, SendLimits } from "@cb/core";
import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";
import { LRUCache } from "lru-cache";
import { observeSender } from "./observe.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccountDirectory {
  /** The enabled account with that id on that channel, secrets opened; null when there is none. */
  load(channel: Channel, accountId: string): Promise<ChannelAccount | null>;
  /** A sender for the account (cached), within the platform's limits shared by every process. */
  sender(accountId: string): Promise<ChannelSender>;
  /** The enabled account of a channel whose config has all these values (e.g. a Slack team id). */
  find(channel: Channel, match: Record<string, string>): Promise<ChannelAccount | null>;
  /** Disables an account the platform says is gone. */
  disable(accountId: string): Promise<void>;
  /** Forget cached accounts (after credentials change). */
  invalidate(accountId?: string): void;
}

/**
 * Channel accounts as webhooks and workers need them: decrypted once and cached briefly, so a
 * burst of webhooks costs no database read or decryption per request.
 */
export function createAccountDirectory(options: {
  db: Db;
  sealer: Sealer;
  drivers: readonly ChannelDriver[];
  env: ChannelEnvironment;
  /** The platforms' sending limits (postgresSendLimits); only roles that send need them. */
  limits?: SendLimits;
  ttlMs?: number;
}): AccountDirectory {
  const drivers = new Map(options.drivers.map((d) => [d.name, d]));
  const accounts = new LRUCache<string, { account: ChannelAccount | null }>({
    max: 10_000,
    ttl: options.ttlMs ?? 30_000,
  });
  const senders = new LRUCache<string, ChannelSender>({ max: 10_000, ttl: options.ttlMs ?? 30_000 });

  async function byId(accountId: string): Promise<ChannelAccount | null> {
    if (!UUID.test(accountId)) return null;
    const cached = accounts.get(accountId);
    if (cached) return cached.account;
    const row = await options.db.channelAccount.findUnique({ where: { id: accountId } });
    const account: ChannelAccount | null = row?.enabled
      ? {
          id: row.id,
          tenantId: row.tenantId,
          channel: row.channel as Channel,
          config: row.config as Record<string, unknown>,
          secrets: options.sealer.openJson<Record<string, string>>(row.secrets),
        }
      : null;
    accounts.set(accountId, { account });
    return account;
  }

  return {
    async load(channel, accountId) {
      const account = await byId(accountId);
      return account?.channel === channel ? account : null;
    },
    async sender(accountId) {
      const cached = senders.get(accountId);
      if (cached) return cached;
      const account = await byId(accountId);
      if (!account) throw new Error(`channel account ${accountId} is missing or disabled`);
      const driver = drivers.get(account.channel);
      if (!driver) throw new Error(`no driver for channel ${account.channel}`);
      if (!options.limits) throw new Error("sending needs the platforms' limits: createAccountDirectory({ limits })");
      const sender = observeSender(driver.name, driver.createSender(account, options.env, options.limits));
      senders.set(accountId, sender);
      return sender;
    },
    async find(channel, match) {
      const row = await options.db.channelAccount.findFirst({
        where: {
          channel,
          enabled: true,
          AND: Object.entries(match).map(([key, value]) => ({ config: { path: [key], equals: value } })),
        },
        select: { id: true },
      });
      return row ? byId(row.id) : null;
    },
    async disable(accountId) {
      await options.db.channelAccount.update({ where: { id: accountId }, data: { enabled: false } });
      accounts.delete(accountId);
      senders.delete(accountId);
    },
    invalidate(accountId) {
      if (accountId) {
        accounts.delete(accountId);
        senders.delete(accountId);
      } else {
        accounts.clear();
        senders.clear();
      }
    },
  };
}
