// Builds the sentence encoder's ONNX model file at install (the encoder's thread would otherwise build it on first use).
import { useLiteOnnxFile } from "../src/use-lite-onnx.ts";

console.log(`sentence encoder ready: ${useLiteOnnxFile()}`);
