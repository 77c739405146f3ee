export { startDemoBackends } from "./server.ts";
export { demoData, type DemoData, type Order, type Customer } from "./data.ts";
