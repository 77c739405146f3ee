import type { DemoData } from "./data.ts";

/**
 * The demo's fulfillment logic, written the way a business writes a Dialogflow ES webhook: read
 * queryResult.intent.displayName and parameters, answer fulfillmentMessages.
 */
export interface WebhookRequest {
  session: string;
  queryResult: { queryText: string; intent: { displayName: string }; parameters: Record<string, unknown> };
}

type Message = Record<string, unknown>;

const text = (...lines: string[]): Message => ({ text: { text: [lines.join("\n")] } });
const quickReplies = (title: string, ...options: string[]): Message => ({
  quickReplies: { title, quickReplies: options },
});

function orderStatus(data: DemoData, orderId: string): Message[] {
  const order = data.orders.get(orderId);
  if (!order) return [text(`I can't find order ${orderId}. Please check the number on your confirmation e-mail.`)];
  const lines = [`Order ${order.id} (${order.items.join(", ")}, ${order.total}) is ${order.status}.`];
  if (order.status === "shipped") lines.push(`${order.carrier} tracking ${order.tracking}, expected ${order.eta}.`);
  return [text(...lines), quickReplies("Anything else?", "Return an item", "Talk to support")];
}

export function fulfill(
  data: DemoData,
  request: WebhookRequest,
): { fulfillmentMessages: Message[]; outputContexts?: unknown[] } {
  const { intent, parameters, queryText } = request.queryResult;
  const param = (name: string) => {
    const value = parameters[name];
    return value === undefined || value === null || value === "" ? undefined : String(value);
  };
  switch (intent.displayName) {
    case "order.status":
      return { fulfillmentMessages: orderStatus(data, param("order_id") ?? "") };
    case "order.return": {
      const orderId = param("order_id") ?? "";
      const order = data.orders.get(orderId);
      if (!order) return { fulfillmentMessages: [text(`I can't find order ${orderId}.`)] };
      if (order.status !== "delivered")
        return {
          fulfillmentMessages: [
            text(
              `Order ${orderId} hasn't been delivered yet, so it can't be returned. You can refuse the parcel at the door instead.`,
            ),
          ],
        };
      const rma = `RMA-${1000 + data.returns.length + 1}`;
      data.returns.push({ id: rma, orderId });
      return {
        fulfillmentMessages: [
          text(
            `Return ${rma} is open for order ${orderId}. Print the label from the link we e-mailed you and drop the parcel at any DHL point.`,
          ),
        ],
      };
    }
    case "support.ticket": {
      const id = `TCK-${2000 + data.tickets.length + 1}`;
      data.tickets.push({ id, summary: queryText, conversation: request.session });
      return {
        fulfillmentMessages: [
          {
            card: {
              title: `Ticket ${id} opened`,
              subtitle: `"${queryText}" — our team answers within 4 hours.`,
              buttons: [{ text: "Check my order", postback: "Where is my order?" }],
            },
          },
        ],
      };
    }
    case "crm.lookup": {
      const email = param("email")?.toLowerCase() ?? "";
      const customer = data.customers.get(email);
      if (!customer) return { fulfillmentMessages: [text(`No customer account uses ${email}.`)] };
      const orders = [...data.orders.values()]
        .filter((o) => o.customerEmail === email)
        .map((o) => `${o.id} (${o.status})`);
      return {
        fulfillmentMessages: [
          text(
            `${customer.name}, ${customer.tier} member since ${customer.since}.`,
            `Orders: ${orders.join(", ") || "none"}.`,
          ),
        ],
      };
    }
    default:
      return { fulfillmentMessages: [] };
  }
}
