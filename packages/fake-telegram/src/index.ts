export { startFakeTelegram, type FakeTelegram, type Faults, type SentCall } from "./server.ts";
