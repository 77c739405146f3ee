/** The demo business's records: a few orders and customers, and the tickets and returns opened in the session. */
export interface Order {
  id: string;
  customerEmail: string;
  status: "processing" | "shipped" | "delivered";
  items: string[];
  total: string;
  carrier?: string;
  tracking?: string;
  eta?: string;
}

export interface Customer {
  email: string;
  name: string;
  tier: "standard" | "gold";
  since: string;
}

export function demoData() {
  const orders = new Map<string, Order>(
    [
      {
        id: "12345",
        customerEmail: "ada@example.com",
        status: "shipped",
        items: ["Trail running shoes"],
        total: "€89.00",
        carrier: "DHL",
        tracking: "JD014600006281234567",
        eta: "Thursday",
      },
      {
        id: "10001",
        customerEmail: "grace@example.com",
        status: "processing",
        items: ["Rain jacket", "Wool socks"],
        total: "€134.50",
      },
      { id: "20002", customerEmail: "ada@example.com", status: "delivered", items: ["Water bottle"], total: "€19.90" },
    ].map((o) => [o.id, o as Order]),
  );
  const customers = new Map<string, Customer>(
    [
      { email: "ada@example.com", name: "Ada Lovelace", tier: "gold", since: "2019" },
      { email: "grace@example.com", name: "Grace Hopper", tier: "standard", since: "2023" },
    ].map((c) => [c.email, c as Customer]),
  );
  const tickets: { id: string; summary: string; conversation: string }[] = [];
  const returns: { id: string; orderId: string }[] = [];
  return { orders, customers, tickets, returns };
}

export type DemoData = ReturnType<typeof demoData>;
