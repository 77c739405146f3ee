/**
 * A fixed-seed generator (a linear congruential one, as the classifier has always used), so that
 * training, a model report and a benchmark come out the same for the same data. No library: the
 * sequence is part of what a stored model and a stored report were computed with.
 */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** Fisher–Yates in place, drawing from `random`. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
