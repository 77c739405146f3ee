/**
 * Telegram's HTML parse mode, as strictly as the Bot API parses it: only its tags, balanced; only
 * named entities &lt; &gt; &amp; &quot; (and numeric ones); every other `<`, `>` or `&` is an error.
 * Returns the visible text, whose length is what the 4096-character limit counts.
 */
const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "code",
  "pre",
  "blockquote",
  "tg-emoji",
]);
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

function fail(reason: string, offset: number): never {
  throw new Error(`Bad Request: can't parse entities: ${reason} at byte offset ${offset}`);
}

export function checkHtml(html: string): string {
  const open: string[] = [];
  let visible = "";
  let i = 0;
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === "<") {
      const end = html.indexOf(">", i);
      if (end < 0) fail("Unclosed start tag", i);
      const inner = html.slice(i + 1, end);
      const closing = inner.startsWith("/");
      const name = (closing ? inner.slice(1) : inner).split(/\s/)[0]!.toLowerCase();
      if (!TAGS.has(name)) fail(`Unsupported ${closing ? "end" : "start"} tag "${name}"`, i);
      if (closing) {
        if (open.pop() !== name) fail(`Unmatched end tag "${name}"`, i);
      } else {
        open.push(name);
      }
      i = end + 1;
    } else if (ch === ">") {
      fail("Character '>' is reserved", i);
    } else if (ch === "&") {
      const m = /^&(#\d+|#x[0-9a-f]+|[a-z]+);/i.exec(html.slice(i));
      if (!m) fail("Character '&' is reserved", i);
      const ref = m[1]!;
      if (ref.startsWith("#")) {
        visible += String.fromCodePoint(
          ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10),
        );
      } else {
        const value = ENTITIES[ref.toLowerCase()];
        if (value === undefined) fail(`Unsupported HTML entity "&${ref};"`, i);
        visible += value;
      }
      i += m[0].length;
    } else {
      visible += ch;
      i++;
    }
  }
  if (open.length) fail(`Can't find end tag corresponding to start tag "${open.at(-1)}"`, html.length);
  return visible;
}
