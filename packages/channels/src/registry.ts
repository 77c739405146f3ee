import { driver as instagram } from "@cb/channel-instagram";
import { driver as messenger } from "@cb/channel-messenger";
import { driver as slack } from "@cb/channel-slack";
import { driver as telegram } from "@cb/channel-telegram";
import { driver as webchat } from "@cb/channel-webchat";
import { driver as whatsapp } from "@cb/channel-whatsapp";
import type { ChannelDriver } from "@cb/core";

/**
 * Every channel the deployment speaks, one entry each (and its import above). Adding a channel is
 * its package, its import and its entry here; nothing else names it. The order is the one
 * notifications try a contact's channels in when a rule names none, and the one schemas list.
 */
export const channelDrivers: readonly ChannelDriver[] = [whatsapp, messenger, instagram, telegram, slack, webchat];
