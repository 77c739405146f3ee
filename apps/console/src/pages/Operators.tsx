import { type FormEvent, useState } from "react";
import { api, ok } from "../api/client";
import { ErrorNote, Page, StatusBadge, When } from "../components";
import { useLoad } from "../load";
import { type Role, useSession } from "../session";

const ROLES: Role[] = ["admin", "agent", "viewer"];
/** Disabled, invited (never signed in) or active. */
const operatorStatus = (o: { disabled: boolean; lastLoginAt: string | null }) =>
  o.disabled ? "disabled" : o.lastLoginAt ? "active" : "invited";

export function OperatorsPage() {
  const { operator: me } = useSession();
  const operators = useLoad(() => ok(api.GET("/v1/operators", { params: { query: { limit: 200 } } })), []);
  const [error, setError] = useState<Error>();
  const [invitation, setInvitation] = useState<string>();
  const act = async (run: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await run();
      operators.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  };
  const invite = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    return act(async () => {
      const answer = await ok(
        api.POST("/v1/operators", {
          body: { email: String(data.get("email")), role: String(data.get("role")) as Role },
        }),
      );
      setInvitation(
        `${window.location.origin}/console/accept-invitation?token=${encodeURIComponent(answer.invitation.token)}`,
      );
      form.reset();
    });
  };
  return (
    <Page title="Operators">
      <form className="card inline-form" onSubmit={(e) => void invite(e)} aria-label="Invite an operator">
        <label className="grow">
          E-mail
          <input name="email" type="email" required />
        </label>
        <label>
          Role
          <select name="role" defaultValue="agent">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Invite
        </button>
      </form>
      {invitation ? (
        <p role="status" className="note">
          Send this link to the new operator (it works once): <code>{invitation}</code>
        </p>
      ) : null}
      <ErrorNote error={operators.error ?? error} />
      <table className="table" aria-label="Operators">
        <thead>
          <tr>
            <th scope="col">Operator</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(operators.data?.data ?? []).map((o) => (
            <tr key={o.id}>
              <td>
                <strong>{o.name ?? "—"}</strong>
                <div className="muted small">{o.email}</div>
              </td>
              <td>
                <select
                  aria-label={`Role of ${o.email}`}
                  value={o.role}
                  disabled={o.id === me.id}
                  onChange={(e) =>
                    void act(() =>
                      ok(
                        api.PATCH("/v1/operators/{id}", {
                          params: { path: { id: o.id } },
                          body: { role: e.target.value as Role },
                        }),
                      ),
                    )
                  }
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <StatusBadge status={operatorStatus(o)} />
              </td>
              <td>
                <When at={o.lastLoginAt} />
              </td>
              <td>
                {o.id !== me.id && !o.disabled ? (
                  <button
                    type="button"
                    className="danger"
                    onClick={() =>
                      void act(() =>
                        ok(
                          api.PATCH("/v1/operators/{id}", { params: { path: { id: o.id } }, body: { disabled: true } }),
                        ),
                      )
                    }
                  >
                    Disable {o.email}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
