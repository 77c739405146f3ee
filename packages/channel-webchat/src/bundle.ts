import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface Bundle {
  js: Buffer;
  gzipped: Buffer;
  etag: string;
}

const ENTRY = fileURLToPath(new URL("./widget/main.ts", import.meta.url));

let built: Promise<Bundle> | undefined;

/**
 * The widget's script, built from its source by esbuild once per process (tens of milliseconds):
 * one self-contained file, no framework, for browsers of the last few years. Built here rather than
 * at install, so the served script is always the source's.
 */
export function widgetBundle(): Promise<Bundle> {
  built ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    write: false,
    legalComments: "none",
  }).then(({ outputFiles }) => {
    const js = Buffer.from(outputFiles[0]!.contents);
    return {
      js,
      gzipped: gzipSync(js, { level: 9 }),
      etag: `"${createHash("sha256").update(js).digest("base64url").slice(0, 16)}"`,
    };
  });
  return built;
}
