import type { ChannelDriver } from "@cb/core";
import { Type, type Static, type TObject, type TString } from "typebox";
import { GRAPH_SETTINGS } from "./graph.ts";

/**
 * A Meta channel's credentials: the access token it sends with, under the name and with the
 * description its product gives it, and the Meta app's secret its webhooks are signed with.
 */
function metaCredentials<const Token extends string>(token: Token, description: string) {
  return Type.Object({
    [token]: Type.String({ minLength: 1, description }),
    appSecret: Type.String({ minLength: 1, description: "The Meta app's secret: webhooks are signed with it" }),
  } as Record<Token | "appSecret", TString>);
}

/** What a Meta account's sealed secrets hold: its credentials, and the verify token Meta's handshake echoes. */
export type MetaAccountSecrets<Credentials extends TObject> = Static<Credentials> & { verifyToken: string };

/**
 * What every Meta channel's driver declares alike: its credentials, the secrets masked wherever an
 * account is shown or logged, the signature header kept out of logs, and the Graph API settings.
 */
export function metaAccount<const Token extends string>(token: Token, description: string) {
  return {
    credentials: metaCredentials(token, description),
    secretFields: [token, "appSecret", "verifyToken"],
    secretHeaders: ["x-hub-signature-256"],
    settings: GRAPH_SETTINGS,
  } satisfies Partial<ChannelDriver>;
}
