import { HttpError } from "@cb/core";

/** Runs a write; a unique-constraint violation becomes 409 with the given message. */
export async function unique<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") throw new HttpError(409, "conflict", message);
    throw err;
  }
}
