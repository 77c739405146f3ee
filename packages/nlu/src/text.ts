/**
 * Text → features for the classifier. Unicode-aware: letters and digits of every script count, Latin
 * diacritics fold away (so "réserver" matches "reserver"), while the marks other scripts need
 * (Devanagari vowel signs, say) stay. Character n-grams make the model robust to typos and to
 * scripts written without spaces.
 */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/(\p{Script=Latin})\p{M}+/gu, "$1")
    .normalize("NFC")
    .toLowerCase();
}

export function tokenize(text: string): string[] {
  return normalizeText(text)
    .split(/[^\p{L}\p{N}\p{M}]+/u)
    .filter(Boolean);
}

/** Feature counts of tokenized text: word unigrams and bigrams, and character 3- to 5-grams within each padded word. */
export function featureCounts(words: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (f: string) => counts.set(f, (counts.get(f) ?? 0) + 1);
  words.forEach((w, i) => {
    add(`w ${w}`);
    if (i > 0) add(`b ${words[i - 1]} ${w}`);
    const padded = [...` ${w} `];
    for (let n = 3; n <= 5; n++)
      for (let s = 0; s + n <= padded.length; s++) add(`c ${padded.slice(s, s + n).join("")}`);
  });
  return counts;
}
