/**
 * Splits text into chunks of at most `limit` characters (code points), at a paragraph, line or word
 * boundary when there is one in the second half of the window, so long replies read naturally on
 * every platform. A single word longer than the limit is cut.
 */
export function splitText(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let rest = text.trim();
  while ([...rest].length > limit) {
    const window = [...rest].slice(0, limit).join("");
    let cut = Math.max(window.lastIndexOf("\n\n"), window.lastIndexOf("\n"));
    if (cut < window.length / 2) cut = window.lastIndexOf(" ");
    if (cut <= 0) cut = window.length;
    chunks.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) chunks.push(rest);
  return chunks;
}

/** Shortens to at most `limit` characters, marking the cut with an ellipsis. */
export function truncate(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit
    ? text
    : `${chars
        .slice(0, limit - 1)
        .join("")
        .trimEnd()}…`;
}
