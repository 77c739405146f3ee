import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { hashPassword, verifyPassword } from "@cb/admin-api";
import type { Db } from "@cb/db";
import { DEMO_TENANT_ID } from "./seed.ts";

export const DEMO_OPERATOR_EMAIL = "demo@example.com";

/**
 * The demo tenant's admin operator, to sign in to the console, and its password, kept in a local
 * file as the demo key is: the stored password while it still signs in demo@example.com as an
 * enabled admin of the demo tenant, else a new random one (which ends the operator's sessions).
 */
export async function demoOperator(db: Db, passwordFile: string): Promise<{ email: string; password: string }> {
  const existing = await db.operator.findUnique({ where: { email: DEMO_OPERATOR_EMAIL } });
  if (existing && existing.tenantId !== DEMO_TENANT_ID)
    throw new Error(`${DEMO_OPERATOR_EMAIL} is an operator of another tenant: the demo will not take it over`);
  if (existsSync(passwordFile) && existing && !existing.disabled && existing.role === "admin") {
    const password = (await readFile(passwordFile, "utf8")).trim();
    if (await verifyPassword(existing.passwordHash, password)) return { email: DEMO_OPERATOR_EMAIL, password };
  }
  const password = randomBytes(12).toString("base64url");
  const account = { role: "admin", disabled: false, passwordHash: await hashPassword(password) };
  await db.$transaction(async (tx) => {
    const operator = await tx.operator.upsert({
      where: { email: DEMO_OPERATOR_EMAIL },
      create: { tenantId: DEMO_TENANT_ID, email: DEMO_OPERATOR_EMAIL, name: "Demo admin", ...account },
      update: account,
    });
    await tx.operatorSession.deleteMany({ where: { operatorId: operator.id } });
  });
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  return { email: DEMO_OPERATOR_EMAIL, password };
}
