import { defaultLogger } from "@cb/logging";
import { JSONPath } from "jsonpath-plus";
import Mustache from "mustache";

/** An order event as rules see it. */
export interface EventDocument {
  id: string;
  type: string;
  subject: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/**
 * A rule's condition is a JSONPath filter expression over the event, such as
 * `$.data.status == 'shipped' && $.data.total > 100`: evaluated by jsonpath-plus as the filter of a
 * one-element list, so it holds exactly when the event passes the filter. One that cannot be
 * evaluated does not hold, and is reported to `onInvalid`.
 */
export function conditionHolds(
  condition: string,
  event: EventDocument,
  onInvalid: (err: Error) => void = (err) => defaultLogger().warn({ err, condition }, INVALID_CONDITION),
): boolean {
  const filter = condition.trim().replace(/\$(?=[.[])/g, "@");
  try {
    return (JSONPath({ path: `$[?(${filter})]`, json: [event], wrap: true }) as unknown[]).length > 0;
  } catch (err) {
    onInvalid(err as Error);
    return false;
  }
}

export const INVALID_CONDITION = "a notification rule's condition cannot be evaluated: it counts as not holding";

export function firstValue(path: string, event: EventDocument): unknown {
  const found = JSONPath({ path, json: event, wrap: true }) as unknown[];
  return found[0];
}

/** Templates are Mustache: `Order {{data.orderId}} has shipped`. Chat text needs no HTML escaping. */
export function renderText(template: string, event: EventDocument): string {
  return Mustache.render(template, event, {}, { escape: (s: unknown) => String(s) });
}
