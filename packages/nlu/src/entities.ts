import * as chrono from "chrono-node";
import { distance } from "fastest-levenshtein";
import { findPhoneNumbersInText, type CountryCode } from "libphonenumber-js";
import { anything, durations, integers, listed, numberWords, ordinals } from "./system-entities.ts";
import { normalizeText, tokenize } from "./text.ts";

/** The Dialogflow system entities read here; a parameter of another one is never filled. */
export const SYSTEM_ENTITIES = [
  "@sys.number",
  "@sys.number-integer",
  "@sys.ordinal",
  "@sys.unit-currency",
  "@sys.percentage",
  "@sys.email",
  "@sys.url",
  "@sys.phone-number",
  "@sys.date",
  "@sys.time",
  "@sys.date-time",
  "@sys.date-period",
  "@sys.duration",
  "@sys.age",
  "@sys.any",
  "@sys.given-name",
  "@sys.last-name",
  "@sys.geo-country",
  "@sys.geo-city",
  "@sys.color",
  "@sys.language",
] as const;

/** A custom entity type: a list of values with synonyms, or a regular expression. */
export type EntityTypeDefinition =
  | { name: string; kind: "list"; entries: { value: string; synonyms?: string[] }[] }
  | { name: string; kind: "pattern"; pattern: string };

export interface EntityMatch {
  /** "@sys.email", "@sys.number", … or "@<custom type name>". */
  entity: string;
  value: unknown;
  /** The text it was read from, and where. */
  text: string;
  start: number;
  end: number;
}

export interface EntityContext {
  timezone: string;
  /** Default region for phone numbers written without a country code (ISO 3166, e.g. "DE"). */
  region?: string;
  now?: Date;
  types?: EntityTypeDefinition[];
  /**
   * The system entities some parameter asks for. Names, places, ordinals, durations and @sys.any
   * are read only when asked for: "Ada" is a name and a city, and @sys.any is every message.
   */
  wanted?: ReadonlySet<string>;
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const URL_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/gu;
const MONEY =
  /(?:([$€£¥₹])\s?(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s?(USD|EUR|GBP|JPY|INR|CHF|dollars?|euros?|pounds?))/giu;
const PERCENT = /(\d+(?:[.,]\d+)?)\s?(?:%|percent\b)/giu;
const NUMBER = /(?<![\p{L}\p{N}.])-?\d+(?:[.,]\d+)?(?![\p{L}\p{N}])/gu;
const SYMBOLS: Record<string, string> = { $: "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR" };
const WORDS: Record<string, string> = {
  dollar: "USD",
  dollars: "USD",
  euro: "EUR",
  euros: "EUR",
  pound: "GBP",
  pounds: "GBP",
};
const toNumber = (s: string) => Number(s.replace(",", "."));

function regexMatches(text: string, re: RegExp, entity: string, value: (m: RegExpExecArray) => unknown): EntityMatch[] {
  return [...text.matchAll(re)].map((m) => ({
    entity,
    value: value(m),
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** Calendar parts of an instant in a time zone. */
function partsIn(date: Date, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}` };
}

function dates(text: string, ctx: EntityContext): EntityMatch[] {
  const results = chrono.parse(text, { instant: ctx.now ?? new Date(), timezone: ctx.timezone }, { forwardDate: true });
  return results.flatMap((r): EntityMatch[] => {
    const start = partsIn(r.start.date(), ctx.timezone);
    const base = { text: r.text, start: r.index, end: r.index + r.text.length };
    if (r.end)
      return [
        {
          ...base,
          entity: "@sys.date-period",
          value: { startDate: start.date, endDate: partsIn(r.end.date(), ctx.timezone).date },
        },
      ];
    const hasDate = r.start.isCertain("day") || r.start.isCertain("weekday");
    const hasTime = r.start.isCertain("hour");
    // "tomorrow at 3pm" also fills a @sys.date and a @sys.time parameter, as in Dialogflow.
    if (hasDate && hasTime)
      return [
        { ...base, entity: "@sys.date-time", value: `${start.date}T${start.time}` },
        ...(ctx.wanted?.has("@sys.date") ? [{ ...base, entity: "@sys.date", value: start.date }] : []),
        ...(ctx.wanted?.has("@sys.time") ? [{ ...base, entity: "@sys.time", value: start.time }] : []),
      ];
    if (hasTime) return [{ ...base, entity: "@sys.time", value: start.time }];
    return [{ ...base, entity: "@sys.date", value: start.date }];
  });
}

function phones(text: string, ctx: EntityContext): EntityMatch[] {
  return findPhoneNumbersInText(text, ctx.region ? { defaultCountry: ctx.region as CountryCode } : undefined).map(
    (p) => ({
      entity: "@sys.phone-number",
      value: p.number.number,
      text: text.slice(p.startsAt, p.endsAt),
      start: p.startsAt,
      end: p.endsAt,
    }),
  );
}

/** List entities match whole words or phrases; words of 5+ letters may be one edit away (typos). */
function listMatches(text: string, type: Extract<EntityTypeDefinition, { kind: "list" }>): EntityMatch[] {
  const words = tokenize(text);
  const found: EntityMatch[] = [];
  for (const entry of type.entries) {
    // One match per entry and position: "pizza" is not also its synonym "pizzas" one edit away.
    const taken = new Set<number>();
    for (const synonym of [entry.value, ...(entry.synonyms ?? [])]) {
      const target = tokenize(synonym);
      if (!target.length) continue;
      for (let i = 0; i + target.length <= words.length; i++) {
        const window = words.slice(i, i + target.length);
        const ok = window.every((w, k) => w === target[k] || (target[k]!.length >= 5 && distance(w, target[k]!) <= 1));
        if (ok && !taken.has(i)) {
          taken.add(i);
          const phrase = window.join(" ");
          const at = normalizeText(text).indexOf(window[0]!);
          found.push({
            entity: `@${type.name}`,
            value: entry.value,
            text: phrase,
            start: Math.max(at, 0),
            end: Math.max(at, 0) + phrase.length,
          });
        }
      }
    }
  }
  return found;
}

/** Every entity found in the text, system and custom, in reading order. */
export function extractEntities(text: string, ctx: EntityContext): EntityMatch[] {
  const custom = (ctx.types ?? []).flatMap((type) =>
    type.kind === "pattern"
      ? regexMatches(text, new RegExp(type.pattern, "gu"), `@${type.name}`, (m) => m[0])
      : listMatches(text, type),
  );
  const numbers = [...regexMatches(text, NUMBER, "@sys.number", (m) => toNumber(m[0])), ...numberWords(text)];
  const all = [
    ...custom,
    ...regexMatches(text, EMAIL, "@sys.email", (m) => m[0].toLowerCase()),
    ...regexMatches(text, URL_RE, "@sys.url", (m) => m[0]),
    ...regexMatches(text, MONEY, "@sys.unit-currency", (m) => ({
      amount: toNumber(m[2] ?? m[3]!),
      currency: m[1] ? SYMBOLS[m[1]]! : (WORDS[m[4]!.toLowerCase()] ?? m[4]!.toUpperCase()),
    })),
    ...regexMatches(text, PERCENT, "@sys.percentage", (m) => toNumber(m[1]!)),
    ...phones(text, ctx),
    ...dates(text, ctx),
    ...numbers,
    ...(ctx.wanted?.size
      ? [...integers(numbers), ...ordinals(text), ...durations(text), ...listed(text, ctx.wanted), ...anything(text)]
      : []
    ).filter((e) => ctx.wanted?.has(e.entity)),
  ];
  // Digits or names inside an address are not what the user meant.
  const isAddress = (e: EntityMatch) => e.entity === "@sys.url" || e.entity === "@sys.email";
  const addresses = all.filter(isAddress);
  const inAddress = (e: EntityMatch) =>
    e.entity.startsWith("@sys.") &&
    !isAddress(e) &&
    e.entity !== "@sys.any" &&
    addresses.some((a) => e.start >= a.start && e.end <= a.end);
  return all.filter((e) => !inAddress(e)).sort((a, b) => a.start - b.start);
}
