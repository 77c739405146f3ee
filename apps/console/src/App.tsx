import { useEffect, useState } from "react";
import { api, ApiError, ok } from "./api/client";
import { ConversationsPage } from "./pages/Conversations";
import { HealthPage } from "./pages/Health";
import { IntentsPage } from "./pages/Intents";
import { NotificationsPage } from "./pages/Notifications";
import { OperatorsPage } from "./pages/Operators";
import { AcceptInvitationPage, SignInPage } from "./pages/SignIn";
import { Link, match, navigate, useLocation } from "./router";
import { type Operator, SessionContext, startSession } from "./session";
import { StreamProvider, useStreamConnected } from "./stream";

const NAV = [
  { to: "/conversations", label: "Conversations" },
  { to: "/health", label: "Webhook health" },
  { to: "/intents", label: "Intents" },
  { to: "/notifications", label: "Notifications" },
  { to: "/operators", label: "Operators", adminOnly: true },
];

export function App() {
  const { path } = useLocation();
  const [operator, setOperator] = useState<Operator | null>();
  useEffect(() => {
    ok(api.GET("/v1/auth/session")).then(
      (answer) => setOperator(startSession(answer)),
      () => setOperator(null),
    );
  }, []);

  if (operator === undefined) return <p className="loading">Loading…</p>;
  if (path === "/accept-invitation") return <AcceptInvitationPage onSignedIn={setOperator} />;
  if (!operator) return <SignInPage onSignedIn={setOperator} />;

  const signOut = async () => {
    await ok(api.POST("/v1/auth/logout")).catch((error: unknown) => {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    });
    setOperator(null);
    navigate("/", { replace: true });
  };
  return (
    <SessionContext.Provider value={{ operator, signOut }}>
      <StreamProvider>
        <Shell operator={operator} path={path} signOut={signOut} />
      </StreamProvider>
    </SessionContext.Provider>
  );
}

function Shell({ operator, path, signOut }: { operator: Operator; path: string; signOut(): Promise<void> }) {
  const live = useStreamConnected();
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Operator console
        </div>
        <ul>
          {NAV.filter((item) => !item.adminOnly || operator.role === "admin").map((item) => (
            <li key={item.to}>
              <Link
                to={item.to}
                className={path.startsWith(item.to) ? "active" : undefined}
                aria-current={path.startsWith(item.to) ? "page" : undefined}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <span className={`live ${live ? "on" : "off"}`}>{live ? "Live" : "Reconnecting…"}</span>
          <div className="whoami">
            <strong>{operator.name ?? operator.email}</strong>
            <span className="muted">
              {operator.email} · {operator.role}
            </span>
          </div>
          <button type="button" className="link-button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">
        <Routes path={path} operator={operator} />
      </main>
    </div>
  );
}

function Routes({ path, operator }: { path: string; operator: Operator }) {
  const conversation = match("/conversations/:id", path);
  if (conversation) return <ConversationsPage selected={conversation.id} />;
  if (match("/conversations", path)) return <ConversationsPage />;
  const params = match("/health/:kind/:id", path);
  if (params)
    return (
      <HealthPage detail={{ kind: params.kind === "subscriptions" ? "subscription" : "endpoint", id: params.id! }} />
    );
  if (match("/health", path)) return <HealthPage />;
  if (match("/intents", path)) return <IntentsPage />;
  if (match("/notifications", path)) return <NotificationsPage />;
  if (match("/operators", path) && operator.role === "admin") return <OperatorsPage />;
  return <Redirect to="/conversations" />;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}
