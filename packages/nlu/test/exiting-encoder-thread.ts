// The real encoder thread, but one that dies when asked to embed "exit now": a thread lost as a
// crash (or the OOM killer of its heap) would lose it, for the restart test.
import { parentPort } from "node:worker_threads";

parentPort!.on("message", ({ texts }: { texts: string[] }) => {
  if (texts[0] === "exit now") process.exit(3);
});
await import("../src/sentence-encoder-thread.ts");
