// The sentence encoder's thread (sentence-encoder.ts): the Universal Sentence Encoder lite run by
// onnxruntime (use-lite.ts), loaded and warmed up on the first request, one batch at a time. Its
// model and its session live here, once per process, and its CPU a sentence stays off the event loop.
import { parentPort } from "node:worker_threads";
import { loadUseLite, type UseLite, WARM_UP } from "./use-lite.ts";

export type EncoderRequest = { id: number; texts: string[] };
export type EncoderReply = { id: number; vectors: Float32Array; loaded?: EncoderLoad } | { id: number; error: string };
/** Sent with the reply to the request that loaded the model. */
export type EncoderLoad = { loadMs: number; warmUp: { texts: number; ms: number } };

let encoder: Promise<{ useLite: UseLite; load: EncoderLoad }> | undefined;

async function load() {
  const started = performance.now();
  const useLite = await loadUseLite();
  const loaded = performance.now();
  for (const text of WARM_UP) await useLite.embed([text]);
  const warmUp = { texts: WARM_UP.length, ms: Math.round(performance.now() - loaded) };
  return { useLite, load: { loadMs: Math.round(loaded - started), warmUp } };
}

parentPort!.on("message", async ({ id, texts }: EncoderRequest) => {
  try {
    const first = !encoder;
    encoder ??= load();
    const { useLite, load: loaded } = await encoder;
    // One flat buffer, moved (not copied) to the caller.
    const vectors = await useLite.embed(texts);
    parentPort!.postMessage({ id, vectors, ...(first ? { loaded } : {}) } satisfies EncoderReply, [vectors.buffer]);
  } catch (err) {
    // A model that failed to load is loaded afresh on the next request.
    encoder = undefined;
    parentPort!.postMessage({ id, error: (err as Error).stack ?? String(err) } satisfies EncoderReply);
  }
});
