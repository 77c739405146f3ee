import type { SlackInstallation } from "@cb/channel-slack";
import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";

/**
 * Stores a workspace's OAuth installation as the tenant's Slack channel account (one per team):
 * a reinstall refreshes the token and re-enables it. Its events are verified with the app's
 * signing secret.
 */
export function slackInstallationSaver(
  db: Db,
  sealer: Sealer,
  signingSecret: string,
  onChanged: (accountId: string) => void,
) {
  return async (tenantId: string, installation: SlackInstallation): Promise<void> => {
    const config = {
      teamId: installation.teamId,
      botUserId: installation.botUserId,
      ...(installation.appId ? { appId: installation.appId } : {}),
      installedVia: "oauth",
    };
    const secrets = sealer.sealJson({ botToken: installation.botToken, signingSecret });
    const existing = await db.channelAccount.findFirst({
      where: { channel: "slack", config: { path: ["teamId"], equals: installation.teamId } },
    });
    if (existing && existing.tenantId !== tenantId) throw new Error("this workspace is connected to another tenant");
    if (existing) {
      await db.channelAccount.update({ where: { id: existing.id }, data: { config, secrets, enabled: true } });
      onChanged(existing.id);
      return;
    }
    await db.channelAccount.create({
      data: { tenantId, channel: "slack", name: installation.teamName ?? installation.teamId, config, secrets },
    });
  };
}
