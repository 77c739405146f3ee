export { startFakeTelegram, type FakeTelegram, type SentCall } from "./server.ts";
