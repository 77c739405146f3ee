import { driverOf } from "@cb/channels";
import { HttpError, type ChannelDriver } from "@cb/core";
import type { TObject } from "typebox";

/** The driver of a channel a request names (its schema admits only registered names). */
export function channelDriver(channel: string): ChannelDriver {
  const driver = driverOf(channel);
  if (!driver) throw new HttpError(400, "validation_failed", `no channel named ${channel}`, { field: "channel" });
  return driver;
}

const required = (schema: TObject) => (schema.required ?? []) as string[];

/** The credentials and config the channel's driver requires, every missing one named. */
export function checkRequired(
  channel: string,
  credentials: Record<string, string>,
  config: Record<string, unknown>,
): void {
  const driver = channelDriver(channel);
  const missing = [
    ...required(driver.credentials)
      .filter((k) => !credentials[k])
      .map((k) => `credentials.${k}`),
    ...required(driver.config)
      .filter((k) => config[k] === undefined || config[k] === "")
      .map((k) => `config.${k}`),
  ];
  if (missing.length)
    throw new HttpError(400, "validation_failed", `a ${channel} account needs ${missing.join(", ")}`, { missing });
  // Only an OAuth installation (ChannelDriver.install), whose platform account the platform itself
  // proved, may be routed by that account's id on the app's shared URL: a body that claimed it
  // could take another tenant's events.
  if ("installedVia" in config)
    throw new HttpError(400, "validation_failed", "config.installedVia is set by an OAuth installation, not by hand", {
      field: "config.installedVia",
    });
}
