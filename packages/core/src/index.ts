export * from "./message.ts";
export * from "./reply.ts";
export * from "./errors.ts";
export * from "./channel.ts";
export * from "./live.ts";
export * from "./text.ts";
export * from "./rate-limit.ts";
export * from "./stored-text.ts";
