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
 * one-element list, so it holds exactly when the event passes the filter.
 */
export function conditionHolds(condition: string, event: EventDocument): boolean {
  const filter = condition.trim().replace(/\$(?=[.[])/g, "@");
  try {
    return (JSONPath({ path: `$[?(${filter})]`, json: [event], wrap: true }) as unknown[]).length > 0;
  } catch {
    return false;
  }
}

export function firstValue(path: string, event: EventDocument): unknown {
  const found = JSONPath({ path, json: event, wrap: true }) as unknown[];
  return found[0];
}

/** Templates are Mustache: `Order {{data.orderId}} has shipped`. Chat text needs no HTML escaping. */
export function renderText(template: string, event: EventDocument): string {
  return Mustache.render(template, event, {}, { escape: (s: unknown) => String(s) });
}
