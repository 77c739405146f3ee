import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM sealing of credentials at rest, with a key ring: the first key seals, every key
 * opens, so keys rotate without downtime (add a new first key, re-encrypt, drop the old one).
 * Node's crypto is the library here; the format is ours: `v1.<keyId>.<iv>.<ciphertext>.<tag>`
 * (base64url), so a ciphertext names the key it needs.
 */
export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
  sealJson(value: unknown): string;
  openJson<T>(sealed: string): T;
  /** Whether `sealed` was made with an older key and should be re-encrypted. */
  isStale(sealed: string): boolean;
}

export interface Key {
  id: string;
  key: Buffer;
}

/** Parses `SECRETS_KEYS`: comma-separated `id:base64key`, newest first; each key 32 bytes. */
export function parseKeyRing(spec: string): Key[] {
  const keys = spec
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [id, b64] = part.split(":");
      if (!id || !b64 || !/^[A-Za-z0-9_-]+$/.test(id)) throw new Error("SECRETS_KEYS entries must be id:base64key");
      const key = Buffer.from(b64, "base64");
      if (key.length !== 32) throw new Error(`SECRETS_KEYS key "${id}" must be 32 bytes (base64 of 32 random bytes)`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error("SECRETS_KEYS holds no key");
  return keys;
}

export function createSealer(keys: Key[]): Sealer {
  const current = keys[0];
  if (!current) throw new Error("a sealer needs at least one key");
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  function seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", current!.key, iv);
    cipher.setAAD(Buffer.from(current!.id));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [
      "v1",
      current!.id,
      iv.toString("base64url"),
      ct.toString("base64url"),
      cipher.getAuthTag().toString("base64url"),
    ].join(".");
  }

  function open(sealed: string): string {
    const parts = sealed.split(".");
    // Exactly five parts (the tuple type holds once the length is checked); a sixth is not ignored.
    const [version, id, iv, ct, tag] = parts as [string, string, string, string, string];
    if (parts.length !== 5 || version !== "v1" || !id) throw new Error("not a sealed secret");
    const key = byId.get(id);
    if (!key) throw new Error(`secret sealed with unknown key "${id}"`);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  }

  return {
    seal,
    open,
    sealJson: (value) => seal(JSON.stringify(value)),
    openJson: <T>(sealed: string) => JSON.parse(open(sealed)) as T,
    isStale: (sealed) => sealed.split(".")[1] !== current.id,
  };
}

/** A fresh key in the `SECRETS_KEYS` format. */
export function generateKey(id: string): string {
  return `${id}:${randomBytes(32).toString("base64")}`;
}
