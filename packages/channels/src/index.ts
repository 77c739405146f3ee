import { addSecretFields } from "@cb/logging";
import type { ChannelDriver, ChannelSetting } from "@cb/core";
import { Type } from "typebox";
import { channelDrivers } from "./registry.ts";

export { channelDrivers } from "./registry.ts";

/** The driver of a channel name, or undefined for a name no driver has (an account of a removed channel). */
export function driverOf(name: string): ChannelDriver | undefined {
  return channelDrivers.find((d) => d.name === name);
}

/** The channel names, in the registry's order. */
export const channelNames: readonly string[] = channelDrivers.map((d) => d.name);

/** A channel name as a schema: one literal per registered driver (the admin API's `channel` fields). */
export const ChannelName = () => Type.Union(channelDrivers.map((d) => Type.Literal(d.name)));

/** Every field and header name some channel's secrets travel in. */
export const channelSecretFields: readonly string[] = [...new Set(channelDrivers.flatMap((d) => d.secretFields))];
export const channelSecretHeaders: readonly string[] = [
  ...new Set(channelDrivers.flatMap((d) => d.secretHeaders ?? [])),
];
/**
 * Every deployment setting some channel reads, by name (channels of one platform share theirs: the
 * Graph API's), for the configuration to validate.
 */
export const channelSettings: Readonly<Record<string, ChannelSetting>> = Object.fromEntries(
  channelDrivers.flatMap((d) => Object.entries(d.settings ?? {})),
);
/** The names of the settings that hold credentials. */
export const channelSecretSettings: readonly string[] = Object.entries(channelSettings)
  .filter(([, setting]) => setting.secret)
  .map(([name]) => name);

// Logs redact them all (a logged configuration object too): every process that knows the channels
// loads this before creating its loggers.
addSecretFields([...channelSecretFields, ...channelSecretSettings], channelSecretHeaders);
