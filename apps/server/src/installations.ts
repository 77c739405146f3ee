import type { ChannelDriver, ChannelInstallation } from "@cb/core";
import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";

/**
 * Stores an installation of a driver's deployment-wide app (ChannelDriver.install) as a channel
 * account of the tenant whose link started it: one per platform account (`accountKey`) among the
 * installed ones, so that a reinstall refreshes its secrets and re-enables it. A platform account
 * installed for another tenant is refused, not taken over.
 */
export function installationSaver(
  db: Db,
  sealer: Sealer,
  driver: ChannelDriver & { install: NonNullable<ChannelDriver["install"]> },
  onChanged: (accountId: string) => void,
) {
  const { accountKey } = driver.install;
  return async (tenantId: string, installation: ChannelInstallation): Promise<void> => {
    const key = installation.config[accountKey];
    if (typeof key !== "string" || !key) throw new Error(`an installation without config.${accountKey}`);
    // The mark the admin API refuses in a body: the driver may route by the key only the platform proved.
    const config = { ...installation.config, installedVia: "oauth" };
    const secrets = sealer.sealJson(installation.secrets);
    // One installation of a platform account at a time across the deployment (a double-clicked
    // authorize page, two tenants racing): the lookup and the write below would otherwise both find
    // nothing and create two accounts. The key lives in JSON whose name each driver chooses, so a
    // lock on (channel, key) serves every driver where a unique index would need one per driver.
    const changed = await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`install:${driver.name}:${key}`}))`;
      // Among installed accounts only: an account connected by hand with the same key (which any
      // tenant may claim) neither blocks the installation nor becomes it.
      const existing = await tx.channelAccount.findFirst({
        where: {
          channel: driver.name,
          AND: [
            { config: { path: [accountKey], equals: key } },
            { config: { path: ["installedVia"], equals: "oauth" } },
          ],
        },
      });
      if (existing && existing.tenantId !== tenantId)
        throw new Error(`this ${driver.displayName} account is connected to another tenant`);
      if (!existing) {
        await tx.channelAccount.create({
          data: { tenantId, channel: driver.name, name: installation.name, config, secrets },
        });
        return null;
      }
      await tx.channelAccount.update({ where: { id: existing.id }, data: { config, secrets, enabled: true } });
      return existing.id;
    });
    if (changed) onChanged(changed);
  };
}
