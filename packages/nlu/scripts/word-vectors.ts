// Builds the compact word-vector files at install (the classifier would otherwise build them on first use).
import { buildAllWordVectors } from "../src/word-vectors.ts";

for (const file of buildAllWordVectors()) console.log(`word vectors ready: ${file}`);
