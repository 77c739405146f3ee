import { channelDrivers, channelNames } from "@cb/channels";
import { assertStorable, HttpError, type Channel, type IntentResponse } from "@cb/core";
import { payloadKey, platformPayload } from "@cb/fulfillment";
import { SYSTEM_ENTITIES } from "@cb/nlu";
import { strFromU8 } from "fflate";
import { AGENT_ZIP_LIMITS, unzipWithLimits } from "./zip.ts";

/**
 * Reads a Dialogflow ES agent export (the zip the console's "Export as ZIP" makes): agent.json,
 * intents/<name>.json with intents/<name>_usersays_<lang>.json, entities/<name>.json with
 * entities/<name>_entries_<lang>.json. What has no counterpart here is listed in `unmapped`.
 */
export interface ImportedIntent {
  name: string;
  examples: string[];
  parameters: { name: string; entity: string; required: boolean; prompts: string[]; isList: boolean }[];
  responses: IntentResponse[];
  isFallback: boolean;
  inputContexts: string[];
  outputContexts: { name: string; lifespan: number }[];
  webhookUsed: boolean;
  action: string;
  events: string[];
  webhookForSlotFilling: boolean;
  priority: number;
  resetContexts: boolean;
  endInteraction: boolean;
  /** What the intent holds that is not imported, and why. */
  unmapped: string[];
}

export type ImportedEntityType =
  | { name: string; kind: "list"; entries: { value: string; synonyms: string[] }[] }
  | { name: string; kind: "pattern"; pattern: string };

export interface Unmapped {
  intent?: string;
  entityType?: string;
  items: string[];
}

interface DfMessage {
  type: number | string;
  lang?: string;
  platform?: string;
  speech?: string | string[];
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  replies?: string[];
  buttons?: { text?: string; postback?: string }[];
  payload?: Record<string, unknown>;
}

/** Dialogflow's message platforms that are channels here, as their drivers name them. */
const PLATFORMS = new Map<unknown, Channel>(
  channelDrivers.flatMap((d) => (d.dialogflow.importNames ?? []).map((platform) => [platform, d.name] as const)),
);
const TYPE_NAMES: Record<number, string> = {
  0: "text",
  1: "card",
  2: "quick replies",
  3: "image",
  4: "custom payload",
};
const SUPPORTED_SYSTEM = new Set<string>(SYSTEM_ENTITIES);

function toReplies(m: DfMessage, channel: Channel | undefined): IntentResponse[] {
  switch (Number(m.type)) {
    case 0: {
      // Several speech variants: all are kept, and one is chosen per turn as Dialogflow does.
      const variants = (Array.isArray(m.speech) ? m.speech : [m.speech]).filter((v): v is string => !!v);
      if (!variants.length) return [];
      return [
        variants.length > 1 ? { type: "text", text: variants[0]!, variants } : { type: "text", text: variants[0]! },
      ];
    }
    case 1:
      return [
        {
          type: "cards",
          cards: [
            {
              title: m.title ?? "",
              ...(m.subtitle ? { subtitle: m.subtitle } : {}),
              ...(m.imageUrl ? { imageUrl: m.imageUrl } : {}),
              buttons: (m.buttons ?? []).map((b) =>
                b.postback && /^https?:/.test(b.postback)
                  ? { type: "url", title: b.text ?? "", url: b.postback }
                  : { type: "postback", title: b.text ?? "", payload: b.postback ?? b.text ?? "" },
              ),
            },
          ],
        },
      ];
    case 2:
      return [
        {
          type: "text",
          text: m.title ?? "",
          quickReplies: (m.replies ?? []).map((r) => ({ title: r, payload: r })),
        },
      ];
    case 3:
      return m.imageUrl ? [{ type: "image", url: m.imageUrl }] : [];
    case 4: {
      const payload = typeof m.payload === "object" && m.payload !== null ? m.payload : {};
      if (!channel) return channelNames.flatMap((c) => platformPayload(payload, c) ?? []);
      // In a platform's own tab the payload may be keyed by the platform or be its body itself.
      const key = payloadKey(channel);
      return [platformPayload(key in payload ? payload : { [key]: payload }, channel) ?? []].flat();
    }
    default:
      return [];
  }
}

/** An imported message's replies, kept to its platform's channel, or why it cannot be used here. */
function messageReplies(m: DfMessage): { replies: IntentResponse[] } | { unmapped: string } {
  const platform = m.platform ?? "";
  const channel = PLATFORMS.get(platform);
  const kind = TYPE_NAMES[Number(m.type)] ?? `"${m.type}"`;
  if (platform && !channel)
    return { unmapped: `a ${kind} message for ${platform}: no such channel here, so it is not imported` };
  if (!TYPE_NAMES[Number(m.type)])
    return { unmapped: `a ${kind} message${platform ? ` for ${platform}` : ""}: no such message type here` };
  const replies = toReplies(m, channel);
  return { replies: channel ? replies.map((r) => ({ ...r, platform: channel })) : replies };
}

export function readAgentZip(
  zip: Uint8Array,
  languageOverride?: string,
): { language: string; intents: ImportedIntent[]; entityTypes: ImportedEntityType[]; unmapped: Unmapped[] } {
  const files = unzipWithLimits(zip, AGENT_ZIP_LIMITS);
  // Exports may wrap everything in one top-level folder.
  const prefix = Object.keys(files)
    .find((f) => f.endsWith("agent.json"))
    ?.replace(/agent\.json$/, "");
  if (prefix === undefined)
    throw new HttpError(400, "invalid_agent", "no agent.json in the archive: not a Dialogflow ES export");
  const json = <T>(path: string): T | undefined => {
    const file = files[prefix + path];
    if (!file) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(strFromU8(file));
    } catch {
      throw new HttpError(400, "invalid_agent", `${path} is not valid JSON`);
    }
    assertStorable(parsed, path);
    return parsed as T;
  };
  const agent = json<{ language?: string }>("agent.json") ?? {};
  const language = languageOverride ?? agent.language ?? "en";
  const names = (folder: string, suffix: RegExp) =>
    Object.keys(files)
      .filter((f) => f.startsWith(`${prefix}${folder}/`) && f.endsWith(".json") && !suffix.test(f))
      .map((f) => f.slice(prefix.length + folder.length + 1, -".json".length));

  const unmapped: Unmapped[] = [];
  const entityTypes = names("entities", /_entries_[^/]+\.json$/).flatMap((file): ImportedEntityType[] => {
    const entity = json<{ name: string; isRegexp?: boolean; isEnum?: boolean }>(`entities/${file}.json`)!;
    const entries = json<{ value: string; synonyms?: string[] }[]>(`entities/${file}_entries_${language}.json`) ?? [];
    if (entity.isEnum) {
      unmapped.push({
        entityType: entity.name,
        items: ["a composite entity (entries made of other entities) is not supported, so it is not imported"],
      });
      return [];
    }
    if (entity.isRegexp)
      return [{ name: entity.name, kind: "pattern", pattern: entries.map((e) => `(?:${e.value})`).join("|") }];
    return [
      {
        name: entity.name,
        kind: "list",
        entries: entries.map((e) => ({ value: e.value, synonyms: (e.synonyms ?? []).filter((s) => s !== e.value) })),
      },
    ];
  });

  const entityNames = new Set(entityTypes.map((e) => e.name));

  const intents = names("intents", /_usersays_[^/]+\.json$/).map((file): ImportedIntent => {
    const intent = json<{
      name: string;
      contexts?: string[];
      fallbackIntent?: boolean;
      webhookUsed?: boolean;
      webhookForSlotFilling?: boolean;
      priority?: number;
      events?: ({ name?: unknown } | null)[];
      conditionalResponses?: unknown[];
      conditionalFollowupEvents?: unknown[];
      responses?: {
        action?: string;
        resetContexts?: boolean;
        endInteraction?: boolean;
        affectedContexts?: { name: string; lifespan?: number }[];
        parameters?: {
          name: string;
          dataType?: string;
          required?: boolean;
          isList?: boolean;
          prompts?: { lang: string; value: string }[];
        }[];
        messages?: DfMessage[];
      }[];
    }>(`intents/${file}.json`)!;
    const says = json<{ data: { text: string }[] }[]>(`intents/${file}_usersays_${language}.json`) ?? [];
    const response = intent.responses?.[0] ?? {};
    const unmapped: string[] = [];
    const parameters = (response.parameters ?? []).flatMap((p) => {
      const entity = p.dataType ?? "";
      if (!entity.startsWith("@")) {
        unmapped.push(`parameter ${p.name}: no entity type, so it is not imported`);
        return [];
      }
      if (entity.startsWith("@sys.") && !SUPPORTED_SYSTEM.has(entity))
        unmapped.push(`parameter ${p.name}: ${entity} is not read here, so it is never filled`);
      else if (!entity.startsWith("@sys.") && !entityNames.has(entity.slice(1)))
        unmapped.push(`parameter ${p.name}: the agent has no entity type ${entity}, so it is never filled`);
      return [
        {
          name: p.name,
          entity,
          required: p.required ?? false,
          prompts: (p.prompts ?? []).filter((q) => q.lang === language).map((q) => q.value),
          isList: p.isList ?? false,
        },
      ];
    });
    const responses = (response.messages ?? [])
      .filter((m) => !m.lang || m.lang === language)
      .flatMap((m) => {
        const read = messageReplies(m);
        if ("unmapped" in read) unmapped.push(read.unmapped);
        return "replies" in read ? read.replies : [];
      });
    if (intent.conditionalResponses?.length) unmapped.push("conditional responses: not supported");
    if (intent.conditionalFollowupEvents?.length) unmapped.push("conditional follow-up events: not supported");
    return {
      name: intent.name,
      examples: says
        .map((s) =>
          s.data
            .map((d) => d.text)
            .join("")
            .trim(),
        )
        .filter(Boolean),
      parameters,
      responses,
      isFallback: intent.fallbackIntent ?? false,
      inputContexts: intent.contexts ?? [],
      outputContexts: (response.affectedContexts ?? []).map((c) => ({ name: c.name, lifespan: c.lifespan ?? 5 })),
      webhookUsed: intent.webhookUsed ?? false,
      action: typeof response.action === "string" ? response.action : "",
      events: (Array.isArray(intent.events) ? intent.events : [])
        .map((e) => e?.name)
        .filter((name): name is string => typeof name === "string" && name !== ""),
      webhookForSlotFilling: intent.webhookForSlotFilling === true,
      // Dialogflow's range: -1 (Ignore) to 1,000,000 (Highest).
      priority: Number.isInteger(intent.priority) ? Math.max(-1, Math.min(1_000_000, intent.priority!)) : 500000,
      resetContexts: response.resetContexts === true,
      endInteraction: response.endInteraction === true,
      unmapped,
    };
  });

  for (const i of intents) if (i.unmapped.length) unmapped.push({ intent: i.name, items: i.unmapped });
  return { language, intents, entityTypes, unmapped };
}
