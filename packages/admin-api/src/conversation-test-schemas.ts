import { Type, type Static } from "typebox";
import { Value } from "typebox/value";

// A conversation test file (YAML for the CLI, the same as JSON for the API): imported on its own by
// the CLI, which checks a file before sending it.

export const TestTurnSchema = Type.Object(
  {
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "what the customer says" })),
    event: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9_.-]{1,100}$",
        description: "an event instead of text (WELCOME, TELEGRAM_WELCOME, …); one of user and event",
      }),
    ),
    intent: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "the intent expected" })),
    parameters: Type.Optional(
      Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
        description: "parameters expected (only those listed are compared)",
      }),
    ),
    reply: Type.Optional(
      Type.String({ maxLength: 10000, description: "the text of the bot's replies, one a line, exactly" }),
    ),
    replyMatches: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description: "a regular expression (JavaScript, u flag) the replies' text must match",
      }),
    ),
    contexts: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 50,
        description: "contexts active after the turn",
      }),
    ),
  },
  { additionalProperties: false },
);

export const TestConversationSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    // A name, not the registry's union: the CLI checks files with this schema without loading every
    // channel driver; the server checks the name against the registry (turnProblems' `channels`).
    channel: Type.Optional(
      Type.String({
        pattern: "^[a-z][a-z0-9_-]*$",
        maxLength: 40,
        description: "the channel the conversation pretends to be on, as GET /v1/channels names it (default telegram)",
      }),
    ),
    turns: Type.Array(TestTurnSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

export const ConversationTestFile = Type.Object(
  { conversations: Type.Array(TestConversationSchema, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
);
export type ConversationTestFile = Static<typeof ConversationTestFile>;

/** Where in a test file something is wrong: a JSON pointer (`/conversations/0/turns/2/intent`) and why. */
export interface TestFileProblem {
  path: string;
  message: string;
}

/**
 * What the schema cannot say: each turn says exactly one of user and event, and its pattern compiles;
 * given the deployment's channels, each conversation's channel is one of them.
 */
export function turnProblems(file: ConversationTestFile, channels?: readonly string[]): TestFileProblem[] {
  const problems: TestFileProblem[] = [];
  for (const [c, conversation] of file.conversations.entries()) {
    if (channels && conversation.channel !== undefined && !channels.includes(conversation.channel))
      problems.push({ path: `/conversations/${c}/channel`, message: `unknown channel; one of ${channels.join(", ")}` });
    for (const [t, turn] of conversation.turns.entries()) {
      const at = `/conversations/${c}/turns/${t}`;
      if ((turn.user === undefined) === (turn.event === undefined))
        problems.push({ path: at, message: "a turn needs exactly one of user and event" });
      if (turn.replyMatches !== undefined)
        try {
          new RegExp(turn.replyMatches, "u");
        } catch (err) {
          problems.push({ path: `${at}/replyMatches`, message: (err as Error).message });
        }
    }
  }
  return problems;
}

/** Every problem of a parsed test file, schema first; none means it can be run. */
export function testFileProblems(value: unknown): TestFileProblem[] {
  // An unknown field is reported twice, as the object's and as the field's "schema is false": once will do.
  const errors = [...Value.Errors(ConversationTestFile, value)].filter((e) => e.keyword !== "boolean");
  if (errors.length) return errors.map((e) => ({ path: e.instancePath || "/", message: explain(e) }));
  return turnProblems(value as ConversationTestFile);
}

/** The schema's complaint, naming an unknown field as such. */
function explain(error: { message: string; keyword: string; params: unknown }): string {
  const params = error.params as { additionalProperties?: string[] };
  return error.keyword === "additionalProperties" && params.additionalProperties
    ? `unknown field ${params.additionalProperties.map((p) => `"${p}"`).join(", ")}`
    : error.message;
}

const TestFailure = Type.Object({
  field: Type.Union([
    Type.Literal("intent"),
    Type.Literal("parameters"),
    Type.Literal("reply"),
    Type.Literal("replyMatches"),
    Type.Literal("contexts"),
  ]),
  expected: Type.Unknown(),
  actual: Type.Unknown(),
});

const TestTurnResult = Type.Object({
  said: Type.String({ description: "the turn's text, or `event <NAME>`" }),
  intent: Type.String(),
  confidence: Type.Number(),
  parameters: Type.Record(Type.String(), Type.Unknown()),
  replies: Type.Array(Type.String(), { description: "the text of each reply" }),
  contexts: Type.Array(Type.String(), { description: "contexts active after the turn" }),
  fulfillment: Type.Object({
    status: Type.String({ description: "prompt, none, ok, failed or no intent (as a turn's record)" }),
    calls: Type.Array(
      Type.Object({
        ok: Type.Boolean(),
        httpStatus: Type.Optional(Type.Integer()),
        latencyMs: Type.Number(),
        error: Type.Optional(Type.String()),
      }),
    ),
  }),
  handoff: Type.Boolean({ description: "the backend asked for a human agent (not acted on in a test)" }),
  failures: Type.Array(TestFailure, { description: "what differed from the turn's expectations; empty: it passed" }),
});

export const ConversationTestReport = Type.Object({
  passed: Type.Boolean({ description: "every turn of every conversation met its expectations" }),
  conversations: Type.Array(
    Type.Object({
      name: Type.String(),
      passed: Type.Boolean(),
      turns: Type.Array(TestTurnResult),
      stopped: Type.Optional(
        Type.Literal("time limit", { description: "the request's 2 minutes ran out: later turns were not run" }),
      ),
    }),
  ),
});
