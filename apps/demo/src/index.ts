// What other apps reuse of the demo: its seed (the browser tests run the console against it).
export { DEMO_BOT, DEMO_TENANT_ID, seedDemo } from "./seed.ts";
export { startShopPage, type ShopPage } from "./shop-page.ts";
