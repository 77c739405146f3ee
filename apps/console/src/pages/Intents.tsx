import { type FormEvent, useState } from "react";
import { api, type Body, ok } from "../api/client";
import { ErrorNote, Json, Page, percent } from "../components";
import { useLoad } from "../load";
import { useCan } from "../session";
import { ModelReport } from "./ModelReport";

type Intent = Body<"/v1/intents/{id}", "get">;
type TextResponse = { type: "text"; text: string };
const isText = (r: unknown): r is TextResponse =>
  typeof r === "object" &&
  r !== null &&
  (r as TextResponse).type === "text" &&
  typeof (r as TextResponse).text === "string";
const lines = (value: FormDataEntryValue | null) =>
  String(value ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

export function IntentsPage() {
  const intents = useLoad(() => ok(api.GET("/v1/intents", { params: { query: { limit: 200 } } })), []);
  const [selected, setSelected] = useState<string>();
  const current = intents.data?.data.find((i) => i.id === selected);
  return (
    <Page title="Intents">
      <TryPhrase />
      <ErrorNote error={intents.error} />
      <div className="split">
        <ul className="plain-list list-pane" aria-label="Intents">
          {(intents.data?.data ?? []).map((intent) => (
            <li key={intent.id}>
              <button
                type="button"
                className={intent.id === selected ? "list-item selected" : "list-item"}
                aria-current={intent.id === selected ? "true" : undefined}
                onClick={() => setSelected(intent.id)}
              >
                <strong>{intent.name}</strong>
                <span className="muted small">
                  {intent.examples.length} examples
                  {intent.isFallback ? " · fallback" : ""}
                  {intent.handoff ? " · hands over" : ""}
                  {intent.fulfillmentEndpointId ? " · fulfillment" : ""}
                </span>
              </button>
            </li>
          ))}
        </ul>
        <div className="detail-pane">
          {current ? (
            <IntentEditor key={current.id + current.updatedAt} intent={current} onSaved={intents.reload} />
          ) : (
            <p className="placeholder">Choose an intent to read or edit it.</p>
          )}
        </div>
      </div>
      <EntityTypes />
      {/* Asked again when an intent changes: the training data has a new version then. */}
      <ModelReport trainingKey={(intents.data?.data ?? []).map((i) => i.updatedAt).join()} />
    </Page>
  );
}

function TryPhrase() {
  const [result, setResult] = useState<Body<"/v1/intents/test", "post">>();
  const [error, setError] = useState<Error>();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get("phrase") ?? "");
    setError(undefined);
    try {
      setResult(await ok(api.POST("/v1/intents/test", { body: { text } })));
    } catch (reason) {
      setError(reason as Error);
    }
  };
  return (
    <section className="card try" aria-labelledby="try-title">
      <h2 id="try-title">Try a phrase</h2>
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <label className="grow">
          <span className="sr-only">Phrase</span>
          <input name="phrase" aria-label="Phrase" placeholder="where is my order 12345" required />
        </label>
        <button type="submit" className="primary">
          Try
        </button>
      </form>
      <p className="muted small">Nothing is sent to anyone; the phrase is matched as a conversation's first message.</p>
      <ErrorNote error={error} />
      {result ? (
        <dl className="facts" aria-label="Match">
          <dt>Intent</dt>
          <dd>
            {result.intent}
            {result.fallback ? " (fallback)" : ""}
          </dd>
          <dt>Confidence</dt>
          <dd>{percent(result.confidence)}</dd>
          <dt>Entities</dt>
          <dd>{Object.keys(result.parameters).length ? <Json value={result.parameters} /> : "none"}</dd>
          <dt>Reply</dt>
          <dd>{result.prompt ?? (result.allRequiredParamsPresent ? "the intent's responses" : "—")}</dd>
        </dl>
      ) : null}
    </section>
  );
}

function IntentEditor({ intent, onSaved }: { intent: Intent; onSaved(): void }) {
  const can = useCan();
  const responses = (intent.responses as unknown[]) ?? [];
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // Text responses are edited here; any other kind (buttons, images, payloads) is kept as it was.
    const texts = lines(form.get("responses")).map((text) => ({ type: "text", text }));
    const body = {
      name: intent.name,
      examples: lines(form.get("examples")),
      parameters: intent.parameters as never,
      responses: [...texts, ...responses.filter((r) => !isText(r))] as Record<string, unknown>[],
      isFallback: intent.isFallback,
      inputContexts: intent.inputContexts,
      outputContexts: intent.outputContexts as never,
      fulfillmentEndpointId: intent.fulfillmentEndpointId,
      action: intent.action,
      events: intent.events,
      webhookForSlotFilling: intent.webhookForSlotFilling,
      priority: intent.priority,
      resetContexts: intent.resetContexts,
      endInteraction: intent.endInteraction,
      handoff: form.get("handoff") === "on",
    };
    setError(undefined);
    try {
      await ok(api.PUT("/v1/intents/{id}", { params: { path: { id: intent.id } }, body }));
      setSaved(true);
      onSaved();
    } catch (reason) {
      setError(reason as Error);
    }
  };
  return (
    <form className="card editor" onSubmit={(e) => void save(e)} aria-label={`Intent ${intent.name}`}>
      <h2>{intent.name}</h2>
      <fieldset disabled={!can.administer}>
        <label>
          Examples (one a line)
          <textarea name="examples" rows={8} defaultValue={intent.examples.join("\n")} />
        </label>
        <label>
          Text responses (one a line)
          <textarea
            name="responses"
            rows={4}
            defaultValue={responses
              .filter(isText)
              .map((r) => r.text)
              .join("\n")}
          />
        </label>
        <label className="check">
          <input type="checkbox" name="handoff" defaultChecked={intent.handoff} /> Hand the conversation to an agent
        </label>
        {can.administer ? (
          <button type="submit" className="primary">
            Save intent
          </button>
        ) : null}
      </fieldset>
      {saved ? (
        <p role="status" className="note">
          Saved.
        </p>
      ) : null}
      <ErrorNote error={error} />
    </form>
  );
}

function EntityTypes() {
  const can = useCan();
  const types = useLoad(() => ok(api.GET("/v1/entity-types", { params: { query: { limit: 200 } } })), []);
  const [error, setError] = useState<Error>();
  const save = async (event: FormEvent<HTMLFormElement>, type: { id: string; name: string }) => {
    event.preventDefault();
    // One entry a line: "value: synonym, synonym".
    const entries = lines(new FormData(event.currentTarget).get("entries")).map((line) => {
      const [value = "", synonyms = ""] = line.split(":");
      return {
        value: value.trim(),
        synonyms: synonyms
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      };
    });
    setError(undefined);
    try {
      await ok(
        api.PUT("/v1/entity-types/{id}", {
          params: { path: { id: type.id } },
          body: { name: type.name, kind: "list", entries },
        }),
      );
      types.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  };
  return (
    <section aria-labelledby="entity-title">
      <h2 id="entity-title">Entity types</h2>
      <ErrorNote error={types.error ?? error} />
      <div className="grid">
        {(types.data?.data ?? []).map((type) => (
          <div key={type.id + type.updatedAt} className="card">
            <h3>
              @{type.name} <span className="muted small">{type.kind}</span>
            </h3>
            {type.kind === "list" ? (
              <form onSubmit={(e) => void save(e, type)}>
                <fieldset disabled={!can.administer}>
                  <label>
                    Values (value: synonyms)
                    <textarea
                      name="entries"
                      rows={4}
                      defaultValue={((type.entries as { value: string; synonyms?: string[] }[]) ?? [])
                        .map((e) => `${e.value}: ${(e.synonyms ?? []).join(", ")}`)
                        .join("\n")}
                    />
                  </label>
                  {can.administer ? <button type="submit">Save {type.name}</button> : null}
                </fieldset>
              </form>
            ) : (
              <code>{type.pattern}</code>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}
