import { type FormEvent, useState } from "react";
import { api, ok } from "../api/client";
import { ErrorNote } from "../components";
import { navigate, useLocation } from "../router";
import { type Operator, startSession } from "../session";

function useSubmit(run: (form: FormData) => Promise<void>) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await run(new FormData(event.currentTarget));
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, onSubmit };
}

export function SignInPage({ onSignedIn }: { onSignedIn(operator: Operator): void }) {
  const { error, busy, onSubmit } = useSubmit(async (form) => {
    const answer = await ok(
      api.POST("/v1/auth/login", {
        body: { email: String(form.get("email")), password: String(form.get("password")) },
      }),
    );
    onSignedIn(startSession(answer));
  });
  return (
    <div className="auth">
      <form className="card auth-card" onSubmit={onSubmit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in</h1>
        <p className="muted">The operator console of your chat channels.</p>
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}

export function AcceptInvitationPage({ onSignedIn }: { onSignedIn(operator: Operator): void }) {
  const { search } = useLocation();
  const token = search.get("token") ?? "";
  const { error, busy, onSubmit } = useSubmit(async (form) => {
    const name = String(form.get("name") ?? "").trim();
    const answer = await ok(
      api.POST("/v1/auth/accept-invitation", {
        body: { token, password: String(form.get("password")), ...(name ? { name } : {}) },
      }),
    );
    onSignedIn(startSession(answer));
    navigate("/conversations", { replace: true });
  });
  return (
    <div className="auth">
      <form className="card auth-card" onSubmit={onSubmit} aria-labelledby="invite-title">
        <h1 id="invite-title">Accept your invitation</h1>
        <p className="muted">Choose a password to join your team on the operator console.</p>
        <label>
          Your name
          <input name="name" autoComplete="name" />
        </label>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        {token ? null : <p className="error">This link has no invitation token: open the link you were sent.</p>}
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy || !token}>
          Join
        </button>
      </form>
    </div>
  );
}
