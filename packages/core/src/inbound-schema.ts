import { Type } from "typebox";
import { Compile } from "typebox/compile";

/**
 * The normalized message model as a schema: what every channel's normalizer must hand the store.
 * A payload the platform signed but shaped unlike its documentation can slip through a normalizer
 * with a number where a string belongs, or a date PostgreSQL cannot hold; checked here, once for
 * every channel, it is refused before anything is written.
 */
const Id = Type.String({ minLength: 1, maxLength: 512 });
const Text = Type.String({ maxLength: 100_000 });
// PostgreSQL's timestamps and JavaScript's dates agree from year 1 to 9999; platforms stamp this century.
const Instant = Type.String({ pattern: "^(19[7-9]\\d|2\\d{3})-\\d{2}-\\d{2}T" });
// A driver's name (ChannelDriver.name); the ingestor stores events under the account's own channel.
const Channel = Type.String({ pattern: "^[a-z][a-z0-9-]{0,31}$" });
const Party = Type.Object({
  externalId: Id,
  name: Type.Optional(Text),
  username: Type.Optional(Text),
  phone: Type.Optional(Text),
});
const Media = Type.Object({
  kind: Type.Union(["image", "audio", "video", "document", "sticker"].map((k) => Type.Literal(k))),
  id: Type.Optional(Id),
  url: Type.Optional(Text),
  mimeType: Type.Optional(Text),
  fileName: Type.Optional(Text),
  caption: Type.Optional(Text),
});
const Message = Type.Object({
  channel: Channel,
  platformEventId: Id,
  platformMessageId: Type.Optional(Id),
  conversation: Type.Object({
    externalId: Id,
    type: Type.Union([Type.Literal("private"), Type.Literal("group")]),
    threadId: Type.Optional(Id),
  }),
  sender: Party,
  sentAt: Instant,
  text: Type.Optional(Text),
  postback: Type.Optional(Type.Object({ payload: Text, title: Type.Optional(Text) })),
  media: Type.Optional(Type.Array(Media, { maxItems: 100 })),
  location: Type.Optional(
    Type.Object({
      latitude: Type.Number({ minimum: -90, maximum: 90 }),
      longitude: Type.Number({ minimum: -180, maximum: 180 }),
      name: Type.Optional(Text),
      address: Type.Optional(Text),
    }),
  ),
  contacts: Type.Optional(
    Type.Array(Type.Object({ name: Text, phones: Type.Array(Text), emails: Type.Optional(Type.Array(Text)) }), {
      maxItems: 100,
    }),
  ),
  reaction: Type.Optional(Type.Object({ emoji: Text, messageId: Id })),
  command: Type.Optional(Type.Object({ name: Text, args: Text })),
  editOf: Type.Optional(Id),
  replyTo: Type.Optional(Id),
  addressedToBot: Type.Optional(Type.Boolean()),
});
const InboundEventSchema = Type.Union([
  Type.Object({ type: Type.Literal("message"), message: Message, raw: Type.Unknown() }),
  Type.Object({
    type: Type.Literal("status"),
    status: Type.Object({
      channel: Channel,
      platformMessageId: Id,
      state: Type.Union(["sent", "delivered", "read", "failed"].map((s) => Type.Literal(s))),
      at: Instant,
      error: Type.Optional(Type.Object({ code: Text, message: Text })),
    }),
    raw: Type.Unknown(),
  }),
  Type.Object({
    type: Type.Literal("read"),
    read: Type.Object({ channel: Channel, conversationExternalId: Id, upTo: Instant }),
    raw: Type.Unknown(),
  }),
]);

export const inboundEventValidator = Compile(InboundEventSchema);
