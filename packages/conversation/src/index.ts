export { createIngestor, type Ingestor, type IngestorOptions } from "./ingest.ts";
export {
  expandInbound,
  enqueueExpansion,
  EXPAND_INBOUND,
  INBOUND_SWEEP,
  HANDLE_MESSAGE,
  CONVERSATION_QUEUE_PREFIX,
  type ExpandResult,
} from "./expand.ts";
export { createAccountDirectory, type AccountDirectory } from "./accounts.ts";
export { sendReplies, type OutboundTarget, type OutboundResult } from "./outbound.ts";
export { handleMessage, type TurnDeps, type TurnResult } from "./turn.ts";
export { answerConversation, type AnswerOptions, type AnswerResult } from "./drain.ts";
export { createUnderstand, createFulfill, applyContexts, askForMissing, nluOutcome } from "./adapters.ts";
export { observeSender, observeTurn, sendOutcome, type TurnSubject } from "./observe.ts";
export type * from "./ports.ts";
export type * from "./turn-record.ts";
export { handleOptKeywords, type OptSettings } from "./opt-out.ts";
export {
  requestHandoff,
  endHandoff,
  returnIdleHandoff,
  HANDOFF_IDLE,
  DEFAULT_WAITING_MESSAGE,
  DEFAULT_IDLE_MINUTES,
  type Mode,
  type HandoffReason,
  type HandoffSettings,
  type HandoffState,
} from "./handoff.ts";
export { agentReplyRule, queueAgentMessage, sendAgentMessage, SEND_AGENT_MESSAGE } from "./agent-reply.ts";
export {
  scheduleNotification,
  rescheduleNotification,
  handOverDue,
  HAND_OVER_SCHEDULED,
  HAND_OVER_CRONTAB,
  HAND_OVER_AHEAD_MS,
  SEND_ATTEMPTS,
  cancelScheduled,
  cancelFollowupsOnReply,
  parseDuration,
  addDuration,
  SEND_SCHEDULED,
  type ScheduleInput,
  type HandOverOptions,
  type ScheduledKind,
} from "./scheduled.ts";
export {
  runTestConversation,
  type TestConversation,
  type TestConversationResult,
  type TestFailure,
  type TestTurn,
  type TestTurnResult,
} from "./test-conversation.ts";
