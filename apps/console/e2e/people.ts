// Operators for the browser tests: invited through the admin API, joined through their invitation,
// signed in through the console's own form.
import type { Browser, Page } from "playwright-core";
import { apiCall, type Stack } from "./stack.ts";

export const PASSWORD = "correct horse battery staple";

/** An operator of the tenant of `apiKey`; returns the e-mail to sign in with (password PASSWORD). */
export async function operator(
  stack: Stack,
  apiKey: string,
  email: string,
  role: "admin" | "agent" | "viewer",
): Promise<string> {
  const invited = await apiCall<{ invitation: { token: string } }>(stack, apiKey, "POST", "/v1/operators", {
    email,
    role,
  });
  const response = await fetch(`${stack.url}/v1/auth/accept-invitation`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: invited.invitation.token, password: PASSWORD, name: email.split("@")[0] }),
  });
  if (!response.ok) throw new Error(`accept-invitation: ${response.status} ${await response.text()}`);
  return email;
}

export async function signIn(browser: Browser, stack: Stack, email: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.consoleUrl);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Conversations" }).waitFor();
  return page;
}
