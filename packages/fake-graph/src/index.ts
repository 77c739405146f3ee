export { startFakeGraph, type FakeGraph, type GraphCall } from "./server.ts";
