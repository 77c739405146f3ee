import { createHash } from "node:crypto";
import type { Reply } from "@cb/core";
import type { DialogContext } from "./ports.ts";

/**
 * Dialogflow ES parameter references in an intent's responses and prompts: `$param`,
 * `$param.original`, `#context.param`, `#context.param.original` (an event's parameters are read as
 * `#event-name.param`), and the escapes `${…}` / `#{…}` for a literal `$` or `#` before text.
 * Hand-written: no maintained library implements Dialogflow's reference syntax.
 */
export interface PlaceholderScope {
  parameters: Record<string, unknown>;
  /** The text each parameter was read from (`$param.original`). */
  originals?: Record<string, string>;
  /** Active contexts, and events by name, with their parameters (`#name.param`). */
  contexts: DialogContext[];
}

// A reference: `$` or `#`, then a name that starts with a letter or `_` (so "$5" stays money), and
// dot-separated parts; a trailing "." ends the sentence, not the name.
const REFERENCE = /([$#])(\{([^{}]*)\}|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)/g;

const isEmpty = (v: unknown) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

/** A value as Dialogflow shows it: a list as "a, b and c". */
function show(value: unknown): string {
  if (Array.isArray(value)) {
    const items = value.map(show);
    return items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : (items[0] ?? "");
  }
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

function lookUp(sigil: string, path: string, scope: PlaceholderScope): unknown {
  if (sigil === "$") {
    if (path in scope.parameters) return scope.parameters[path];
    if (path.endsWith(".original")) {
      const name = path.slice(0, -".original".length);
      return scope.originals?.[name] ?? (name in scope.parameters ? scope.parameters[name] : undefined);
    }
    return undefined;
  }
  const dot = path.indexOf(".");
  if (dot < 0) return undefined;
  const context = scope.contexts.find((c) => c.name.toLowerCase() === path.slice(0, dot).toLowerCase());
  return context?.parameters?.[path.slice(dot + 1)];
}

/** The text with its references replaced (an unfilled one by ""), and whether all were filled. */
export function resolve(text: string, scope: PlaceholderScope): { text: string; filled: boolean } {
  let filled = true;
  const out = text.replace(REFERENCE, (whole: string, sigil: string, name: string, escaped: string | undefined) => {
    if (escaped !== undefined) {
      // ${100} is "$100"; ${$number} is "$" and the number.
      const inner = resolve(escaped, scope);
      filled &&= inner.filled;
      return sigil + inner.text;
    }
    // "#hashtag" names no context parameter: it is text.
    if (sigil === "#" && !name.includes(".")) return whole;
    const value = lookUp(sigil, name, scope);
    if (isEmpty(value)) {
      filled = false;
      return "";
    }
    return show(value);
  });
  return { text: out, filled };
}

/**
 * One of a text's variants, as Dialogflow picks: among those whose references are all filled (all
 * variants when none is), one at random, here drawn from `seed` (the message id) so that a turn run
 * again after a crash sends the same words.
 */
export function chooseVariant(variants: string[], scope: PlaceholderScope, seed: string): string {
  const resolved = variants.map((v) => resolve(v, scope));
  const eligible = resolved.filter((r) => r.filled);
  const pool = eligible.length ? eligible : resolved;
  const draw = createHash("sha256").update(seed).digest().readUInt32BE(0);
  return pool[draw % pool.length]?.text ?? "";
}

const text = (s: string, scope: PlaceholderScope) => resolve(s, scope).text;

/** An intent's stored responses with their references resolved and one variant of each text chosen. */
export function renderReplies(replies: Reply[], scope: PlaceholderScope, seed: string): Reply[] {
  return replies.map((reply, n): Reply => {
    switch (reply.type) {
      case "text": {
        const { variants, ...rest } = reply as Reply & { type: "text"; variants?: string[] };
        return {
          ...rest,
          text: chooseVariant(variants?.length ? variants : [reply.text], scope, `${seed}:${n}`),
          ...(reply.quickReplies
            ? { quickReplies: reply.quickReplies.map((q) => ({ ...q, title: text(q.title, scope) })) }
            : {}),
        };
      }
      case "buttons":
        return {
          ...reply,
          text: text(reply.text, scope),
          buttons: reply.buttons.map((b) => ({ ...b, title: text(b.title, scope) })),
        };
      case "cards":
        return {
          ...reply,
          cards: reply.cards.map((c) => ({
            ...c,
            title: text(c.title, scope),
            ...(c.subtitle ? { subtitle: text(c.subtitle, scope) } : {}),
            ...(c.buttons ? { buttons: c.buttons.map((b) => ({ ...b, title: text(b.title, scope) })) } : {}),
          })),
        };
      case "image":
        return reply.caption ? { ...reply, caption: text(reply.caption, scope) } : reply;
      default:
        return reply;
    }
  });
}
