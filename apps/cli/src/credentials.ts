// Which server and key `cb` uses: the flags, then the environment, then what a running `npm start` left in
// .data (the demo's address and the demo tenant's key), then the default address.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ApiFailure } from "./api.ts";

export interface Connection {
  url: string;
  key: string | undefined;
  /** Where the key came from, for the message when the server refuses it. */
  keyFrom: "--key" | "CB_API_KEY" | string | undefined;
}

export function connection(
  env: Record<string, string | undefined>,
  flags: { url?: string | undefined; key?: string | undefined },
): Connection {
  // The demo's files, where the demo puts them (DEMO_INFO_FILE moves them, as it moves the demo's).
  const info = resolve(env.DEMO_INFO_FILE ?? ".data/demo.json");
  const keyFile = join(dirname(info), "demo-api-key");
  const demoUrl = existsSync(info)
    ? (JSON.parse(readFileSync(info, "utf8")) as { serverUrl?: string }).serverUrl
    : undefined;
  const url = flags.url ?? env.CB_API_URL ?? demoUrl ?? "http://127.0.0.1:3000";
  if (flags.key) return { url, key: flags.key, keyFrom: "--key" };
  if (env.CB_API_KEY) return { url, key: env.CB_API_KEY, keyFrom: "CB_API_KEY" };
  if (existsSync(keyFile)) return { url, key: readFileSync(keyFile, "utf8").trim(), keyFrom: keyFile };
  return { url, key: undefined, keyFrom: undefined };
}

/** A 401 says which key was refused and how to pass another. */
export function explainRefusal(err: unknown, from: Connection["keyFrom"]): unknown {
  if (!(err instanceof ApiFailure) || err.status !== 401) return err;
  const how = "pass an API key with --key <key> or in CB_API_KEY";
  const why =
    from === undefined
      ? `no API key was given: ${how} (\`npm start\` keeps the demo tenant's in .data/demo-api-key)`
      : from === "--key" || from === "CB_API_KEY"
        ? `the key given with ${from} was refused: ${how}`
        : `the key in ${from} was refused (it belongs to another database, or was revoked): ${how}`;
  return new ApiFailure(401, `${err.message} (${why})`);
}
