export * from "./sealer.ts";
