import { hash, verify, type Algorithm } from "@node-rs/argon2";

/**
 * Operators' passwords: argon2id with OWASP's minimum (19 MiB, two passes, one lane), about 30 ms
 * a hash here. `algorithm` is Algorithm.Argon2id, a const enum isolated modules cannot read.
 */
const OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

// Checked when there is no hash to check against (an unknown e-mail, an invitation not yet
// accepted), so that such an answer takes as long as a wrong password's.
let dummy: Promise<string> | undefined;

/** Whether `password` is the one `stored` was made from; with nothing stored, false, as slowly. */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  dummy ??= hashPassword("no operator has this password");
  const matches = await verify(stored ?? (await dummy), password).catch(() => false);
  return stored !== null && matches;
}
