import { assertStorable, HttpError } from "@cb/core";
import { strFromU8 } from "fflate";
import { AGENT_ZIP_LIMITS, unzipWithLimits } from "./zip.ts";

/**
 * Reads a Dialogflow ES agent export (the zip the console's "Export as ZIP" makes): agent.json,
 * intents/<name>.json with intents/<name>_usersays_<lang>.json, entities/<name>.json with
 * entities/<name>_entries_<lang>.json.
 */
export interface ImportedIntent {
  name: string;
  examples: string[];
  parameters: { name: string; entity: string; required: boolean; prompts: string[]; isList: boolean }[];
  responses: Record<string, unknown>[];
  isFallback: boolean;
  inputContexts: string[];
  outputContexts: { name: string; lifespan: number }[];
  webhookUsed: boolean;
  action: string;
  events: string[];
  webhookForSlotFilling: boolean;
}

export type ImportedEntityType =
  | { name: string; kind: "list"; entries: { value: string; synonyms: string[] }[] }
  | { name: string; kind: "pattern"; pattern: string };

interface DfMessage {
  type: number | string;
  lang?: string;
  speech?: string | string[];
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  replies?: string[];
  buttons?: { text?: string; postback?: string }[];
  payload?: Record<string, unknown>;
}

function toReply(m: DfMessage): Record<string, unknown> | undefined {
  switch (Number(m.type)) {
    case 0: {
      // Several speech variants: all are kept, and one is chosen per turn as Dialogflow does.
      const variants = (Array.isArray(m.speech) ? m.speech : [m.speech]).filter((v): v is string => !!v);
      if (!variants.length) return undefined;
      return variants.length > 1 ? { type: "text", text: variants[0], variants } : { type: "text", text: variants[0] };
    }
    case 1:
      return {
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
      };
    case 2:
      return {
        type: "text",
        text: m.title ?? "",
        quickReplies: (m.replies ?? []).map((r) => ({ title: r, payload: r })),
      };
    case 3:
      return m.imageUrl ? { type: "image", url: m.imageUrl } : undefined;
    default:
      return undefined;
  }
}

export function readAgentZip(
  zip: Uint8Array,
  languageOverride?: string,
): { language: string; intents: ImportedIntent[]; entityTypes: ImportedEntityType[] } {
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

  const intents = names("intents", /_usersays_[^/]+\.json$/).map((file): ImportedIntent => {
    const intent = json<{
      name: string;
      contexts?: string[];
      fallbackIntent?: boolean;
      webhookUsed?: boolean;
      webhookForSlotFilling?: boolean;
      events?: { name: string }[];
      responses?: {
        action?: string;
        affectedContexts?: { name: string; lifespan?: number }[];
        parameters?: {
          name: string;
          dataType: string;
          required?: boolean;
          isList?: boolean;
          prompts?: { lang: string; value: string }[];
        }[];
        messages?: DfMessage[];
      }[];
    }>(`intents/${file}.json`)!;
    const says = json<{ data: { text: string }[] }[]>(`intents/${file}_usersays_${language}.json`) ?? [];
    const response = intent.responses?.[0] ?? {};
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
      parameters: (response.parameters ?? []).map((p) => ({
        name: p.name,
        entity: p.dataType,
        required: p.required ?? false,
        prompts: (p.prompts ?? []).filter((q) => q.lang === language).map((q) => q.value),
        isList: p.isList ?? false,
      })),
      responses: (response.messages ?? [])
        .filter((m) => !m.lang || m.lang === language)
        .map(toReply)
        .filter((r): r is Record<string, unknown> => r !== undefined),
      isFallback: intent.fallbackIntent ?? false,
      inputContexts: intent.contexts ?? [],
      outputContexts: (response.affectedContexts ?? []).map((c) => ({ name: c.name, lifespan: c.lifespan ?? 5 })),
      webhookUsed: intent.webhookUsed ?? false,
      action: response.action ?? "",
      events: (intent.events ?? []).map((e) => e.name).filter(Boolean),
      webhookForSlotFilling: intent.webhookForSlotFilling ?? false,
    };
  });

  const entityTypes = names("entities", /_entries_[^/]+\.json$/).map((file): ImportedEntityType => {
    const entity = json<{ name: string; isRegexp?: boolean }>(`entities/${file}.json`)!;
    const entries = json<{ value: string; synonyms?: string[] }[]>(`entities/${file}_entries_${language}.json`) ?? [];
    if (entity.isRegexp)
      return { name: entity.name, kind: "pattern", pattern: entries.map((e) => `(?:${e.value})`).join("|") };
    return {
      name: entity.name,
      kind: "list",
      entries: entries.map((e) => ({ value: e.value, synonyms: (e.synonyms ?? []).filter((s) => s !== e.value) })),
    };
  });

  return { language, intents, entityTypes };
}
