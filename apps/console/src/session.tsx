// Who is signed in. The session lives in an httpOnly cookie; the CSRF token it answers with goes on
// every request that changes something.
import { createContext, useContext } from "react";
import { setCsrfToken } from "./api/client";

export type Role = "admin" | "agent" | "viewer";
export interface Operator {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  tenantId: string;
}
export interface Session {
  operator: Operator;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/**
 * What a role may do (as the API enforces it): viewers only look; agents take over and answer
 * conversations and replay deliveries; admins change the set-up too.
 */
export function useCan(): { handle: boolean; replay: boolean; administer: boolean } {
  const { role } = useSession().operator;
  return { handle: role !== "viewer", replay: role !== "viewer", administer: role === "admin" };
}

export function startSession(answer: { operator: Operator; csrfToken: string }): Operator {
  setCsrfToken(answer.csrfToken);
  return answer.operator;
}
