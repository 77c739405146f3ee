// A stand-in for the encoder's thread that embeds nothing: each text's vector carries the text's
// length and the number of the batch it came in, for the test of how a training's texts are batched.
import { parentPort } from "node:worker_threads";
import type { EncoderReply, EncoderRequest } from "../src/sentence-encoder-thread.ts";
import { SENTENCE_DIMENSIONS } from "../src/sentence-encoder.ts";

let batches = 0;
parentPort!.on("message", ({ id, texts }: EncoderRequest) => {
  batches++;
  const vectors = new Float32Array(texts.length * SENTENCE_DIMENSIONS);
  for (const [i, text] of texts.entries()) {
    vectors[i * SENTENCE_DIMENSIONS] = text.length;
    vectors[i * SENTENCE_DIMENSIONS + 1] = batches;
  }
  parentPort!.postMessage({ id, vectors } satisfies EncoderReply, [vectors.buffer]);
});
