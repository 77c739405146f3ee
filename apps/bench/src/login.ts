// `npm run bench:login`: what signing in costs (argon2id) and that an unknown e-mail costs the same
// (no telling which e-mails exist by the time an answer takes); a request made with the session
// cookie against one made with an API key.
import { createAccountDirectory, createIngestor } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";
import { benchDatabase } from "./database.ts";

const database = await benchDatabase();
const pool = createPool(database.url);
const db = createDb(pool);
const sealer = createSealer(parseKeyRing(generateKey("bench")));
const ingestor = createIngestor({ connectionString: database.url });
const ADMIN_TOKEN = "bench-operator-token-0123";
const app = await buildServer({
  db,
  accounts: createAccountDirectory({ db, sealer, drivers: [], env: {} }),
  ingestor,
  drivers: [],
  // The limit would refuse the repeated failures measured here.
  admin: {
    db,
    sealer,
    channelEnv: {},
    operatorToken: ADMIN_TOKEN,
    operators: { loginLimit: { perEmail: 1e9, perIp: 1e9 } },
  },
});
const key = (
  await app.inject({
    method: "POST",
    url: "/v1/tenants",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { name: "Bench" },
  })
).json().apiKey.key as string;
const invited = await app.inject({
  method: "POST",
  url: "/v1/operators",
  headers: { authorization: `Bearer ${key}` },
  payload: { email: "ada@bench.example", role: "admin" },
});
const password = "correct horse battery staple";
const accepted = await app.inject({
  method: "POST",
  url: "/v1/auth/accept-invitation",
  payload: { token: invited.json().invitation.token, password },
});
const cookie = accepted.cookies.find((c) => c.name === "cb_session")!.value;

/** Milliseconds per call: median and 95th percentile over n calls, after a few to warm up. */
async function time(run: () => Promise<unknown>, n: number) {
  for (let i = 0; i < 5; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { p50Ms: round(times[Math.floor(n / 2)]!), p95Ms: round(times[Math.floor(n * 0.95)]!) };
}
const login = (email: string, pass: string) =>
  app.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password: pass } });

const figures = {
  loginRight: await time(() => login("ada@bench.example", password), 40),
  loginWrongPassword: await time(() => login("ada@bench.example", "wrong password!"), 40),
  loginUnknownEmail: await time(() => login("nobody@bench.example", password), 40),
  readWithSession: await time(() => app.inject({ url: "/v1/operators", cookies: { cb_session: cookie } }), 500),
  readWithApiKey: await time(
    () => app.inject({ url: "/v1/operators", headers: { authorization: `Bearer ${key}` } }),
    500,
  ),
};
await app.close();
await ingestor.close();
await db.$disconnect();
await pool.end();
await database.drop();
console.log(JSON.stringify(figures));
