// The Docker deployment as a user runs it: docker/compose.yml and docker/Dockerfile read as Docker
// reads them, then the image's own command and health check run here against a real PostgreSQL.
// Where a Docker daemon answers, compose checks the file and the image is built and run as well.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { REQUIRED_SETTINGS, type Role } from "@cb/runtime";
import { generateKey } from "@cb/secrets";
import { parse } from "yaml";

const root = join(import.meta.dirname, "..", "..");
const IMAGE = "chatbot-backend:local";

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  pull_policy?: string;
  command?: string[];
  restart?: string;
  healthcheck?: { disable?: boolean; test?: string[] };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(join(root, "docker", "compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const dockerfileText = readFileSync(join(root, "docker", "Dockerfile"), "utf8");

/** The final stage of the Dockerfile: its environment, command and health check. */
function runtimeStage() {
  const lines = dockerfileText.replace(/\\\n/g, " ").split("\n");
  const stage = lines.slice(lines.findLastIndex((line) => line.startsWith("FROM ")));
  const instruction = (name: string) =>
    stage.filter((line) => line.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
  const env: Record<string, string> = {};
  for (const line of instruction("ENV"))
    for (const pair of line.trim().split(/\s+/)) {
      const [key, ...value] = pair.split("=");
      env[key!] = value.join("=");
    }
  const [cmd] = instruction("CMD");
  const [healthcheck] = instruction("HEALTHCHECK");
  return {
    env,
    cmd: JSON.parse(cmd!) as string[],
    healthcheck: JSON.parse(healthcheck!.slice(healthcheck!.indexOf("CMD ") + 4)) as string[],
  };
}
const image = runtimeStage();

const appServices = Object.entries(compose.services).filter(([, s]) => s.image === IMAGE);
const oneShot = appServices.filter(([, s]) => s.command?.join(" ") === "npm run migrate");
const longRunning = appServices.filter(([, s]) => !oneShot.some(([, o]) => o === s));

/** Values for compose's `${NAME:?message}` placeholders, as an operator's .env would give them. */
const settings: Record<string, string> = {
  SECRETS_KEYS: generateKey("k1"),
  PUBLIC_BASE_URL: "https://bot.example.com",
  ADMIN_TOKEN: randomBytes(24).toString("base64url"),
};
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, name: string) => settings[name] ?? "");
}

function roleOf(service: Service): Role {
  const role = service.environment?.ROLE ?? image.env.ROLE;
  assert.ok(role === "web" || role === "worker", `ROLE web or worker, not ${role}`);
  return role;
}

test("one image for every role, built once, with generate run once (npm ci's postinstall)", () => {
  assert.deepEqual(
    appServices.map(([name]) => name).sort(),
    ["migrate", "web", "worker"],
    "every service but PostgreSQL runs the image",
  );
  const builders = appServices.filter(([, s]) => s.build);
  assert.deepEqual(
    builders.map(([, s]) => s.build),
    [{ context: "..", dockerfile: "docker/Dockerfile" }],
    "one service builds it",
  );
  assert.equal(builders[0]![1].pull_policy, "build", "from the sources, not a registry's image of that name");
  for (const [name, service] of appServices.filter(([, s]) => !s.build)) {
    assert.equal(service.pull_policy, "never", `${name} uses the image built here, never a registry's`);
    assert.ok(service.depends_on?.[builders[0]![0]], `${name} starts after the service that builds the image`);
  }
  const postinstall = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.postinstall as string;
  assert.match(postinstall, /npm run generate -w @cb\/db/);
  assert.match(dockerfileText, /RUN npm ci /, "npm ci runs the install scripts (no --ignore-scripts)");
  assert.doesNotMatch(dockerfileText, /--ignore-scripts/);
  assert.doesNotMatch(dockerfileText, /prisma generate|run generate/, "no second Prisma generate");
});

test("the operator's settings file never enters the image or the repository", () => {
  for (const ignore of [".dockerignore", ".gitignore"]) {
    const patterns = readFileSync(join(root, ignore), "utf8").split("\n");
    assert.ok(patterns.includes("**/.env") || patterns.includes(".env"), `${ignore} leaves docker/.env out`);
  }
});

test("restart policies: long-running services come back, the one-shot migration gives up", () => {
  for (const [name, service] of [...longRunning, ["postgres", compose.services.postgres!] as const])
    assert.equal(service.restart, "unless-stopped", name);
  for (const [name, service] of oneShot) {
    assert.match(service.restart ?? "no", /^(no|on-failure:\d+)$/, `${name}: never restarted forever`);
    assert.equal(service.healthcheck?.disable, true, `${name} is a job, not a service to probe`);
  }
  for (const [name, service] of longRunning)
    assert.equal(service.depends_on?.migrate?.condition, "service_completed_successfully", name);
});

test("every setting a role requires comes from the operator, and compose refuses to start without it", () => {
  for (const [name, service] of longRunning) {
    const env = service.environment ?? {};
    for (const setting of REQUIRED_SETTINGS[roleOf(service)]) {
      const value = env[setting];
      assert.ok(value, `${name} sets ${setting}`);
      if (setting === "DATABASE_URL") assert.match(value, /@postgres:5432\//, "the compose file's own PostgreSQL");
      else assert.match(value, new RegExp(`^\\$\\{${setting}:\\?.+\\}$`), `${name}: ${setting} required, no default`);
    }
  }
});

test("the image starts the role ROLE names and probes that role's port", () => {
  assert.deepEqual(image.cmd, ["sh", "docker/start.sh"]);
  assert.deepEqual(image.healthcheck, ["node", "docker/healthcheck.mjs"]);
  assert.equal(image.env.NODE_ENV, "production");
  for (const [name, service] of longRunning) {
    assert.equal(service.healthcheck, undefined, `${name} keeps the image's health check`);
    assert.equal(service.command, undefined, `${name}: ROLE alone picks the process`);
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group has exited
  }
}

async function freePort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return String(port);
}

/** What the container's processes see: the image's ENV under the service's environment. */
function containerEnv(service: Service, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME ?? "/tmp",
    ...image.env,
  };
  for (const [key, value] of Object.entries(service.environment ?? {})) env[key] = interpolate(value);
  return { ...env, ...overrides };
}

function healthcheck(env: Record<string, string>): number | null {
  return spawnSync(image.healthcheck[0]!, image.healthcheck.slice(1), { cwd: root, env, timeout: 5_000 }).status;
}

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database.drop();
});

// The service's environment, only the addresses changed: this test's database instead of the compose
// network's, and free loopback ports instead of the image's fixed ones.
for (const [name, service] of longRunning) {
  test(`${name}: the image's command starts the role and its health check turns healthy, then not once it stops`, async () => {
    const env = containerEnv(service, {
      DATABASE_URL: database.url,
      HOST: "127.0.0.1",
      PORT: await freePort(),
      WORKER_HEALTH_PORT: await freePort(),
      METRICS_TOKEN: "metrics-token-of-the-test",
    });
    // A process group of its own: whatever the command leaves behind is killed with it.
    const child = spawn(image.cmd[0]!, image.cmd.slice(1), {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = once(child, "exit");
    let healthy = false;
    for (const deadline = Date.now() + 60_000; !healthy && child.exitCode === null && Date.now() < deadline; ) {
      healthy = healthcheck(env) === 0;
      if (!healthy) await sleep(500);
    }
    // The role's /metrics, on the port its health check probes, behind METRICS_TOKEN.
    const port = roleOf(service) === "web" ? env.PORT : env.WORKER_HEALTH_PORT;
    const metrics = (authorization?: string) =>
      fetch(`http://127.0.0.1:${port}/metrics`, authorization ? { headers: { authorization } } : {}).catch(
        (err: Error) => err,
      );
    const refused = healthy ? await metrics() : undefined;
    const scraped = healthy ? await metrics(`Bearer ${env.METRICS_TOKEN}`) : undefined;
    child.kill("SIGTERM");
    const code = await Promise.race([exited.then(([status]) => status), sleep(30_000).then(() => "still running")]);
    killGroup(child.pid!);
    assert.ok(healthy, `healthy within a minute (${roleOf(service)} role); its stderr: ${stderr}`);
    assert.equal((refused as Response).status, 401, "no token, no metrics");
    assert.equal((scraped as Response).status, 200);
    assert.match(await (scraped as Response).text(), /^cb_process_cpu_seconds_total /m);
    assert.equal(code, 0, "SIGTERM reaches the role through start.sh (exec), which drains and exits 0");
    assert.equal(healthcheck(env), 1, "unhealthy once the role is gone");
  });
}

function startRole(env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync(image.cmd[0]!, image.cmd.slice(1), { cwd: root, env, encoding: "utf8", timeout: 60_000 });
}

/** The one line a role writes before exiting on bad settings: a fatal JSON log line on stderr. */
function fatalLine(stderr: string): string {
  const line = JSON.parse(stderr.trim()) as { level: number; msg: string };
  assert.equal(line.level, 60, stderr);
  return line.msg;
}

test("each role in the image refuses to start without its settings, naming every missing one", () => {
  const bare = containerEnv({});
  const web = startRole({ ...bare, ROLE: "web" });
  assert.equal(web.status, 78, web.stderr);
  assert.equal(
    fatalLine(web.stderr),
    "invalid configuration: missing required settings for the web role: DATABASE_URL, SECRETS_KEYS, PUBLIC_BASE_URL, ADMIN_TOKEN (see README, Configuration)",
  );
  const worker = startRole({ ...bare, ROLE: "worker", DATABASE_URL: database.url });
  assert.equal(worker.status, 78, worker.stderr);
  assert.equal(
    fatalLine(worker.stderr),
    "invalid configuration: missing required settings for the worker role: SECRETS_KEYS (see README, Configuration)",
  );
  const unknown = startRole({ ...bare, ROLE: "all" });
  assert.equal(unknown.status, 64);
  assert.match(unknown.stderr, /ROLE must be web or worker/);
});

// With a Docker daemon: compose's own reading of the file, then the image built and run.
const docker = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 20_000 });
const noDaemon = docker.status === 0 ? undefined : (docker.error?.message ?? docker.stderr.trim().split("\n").at(-1));

function composeCommand(): string[] | undefined {
  for (const command of [["docker", "compose"], ["docker-compose"]])
    if (spawnSync(command[0]!, [...command.slice(1), "version"], { timeout: 20_000 }).status === 0) return command;
  return undefined;
}

function run(command: string[], env: NodeJS.ProcessEnv = process.env, timeout = 120_000) {
  return spawnSync(command[0]!, command.slice(1), { cwd: root, env, encoding: "utf8", timeout });
}

test("Docker: compose accepts the file with the settings and refuses it without them", (t: TestContext) => {
  if (noDaemon) return t.skip(`no Docker daemon: ${noDaemon}`);
  const command = composeCommand();
  if (!command) return t.skip("no docker compose (neither the plugin nor docker-compose)");
  const config = [...command, "-f", "docker/compose.yml", "config"];
  const withSettings = run(config, { ...process.env, ...settings });
  assert.equal(withSettings.status, 0, withSettings.stderr);
  const withoutSettings = run(config, { PATH: process.env.PATH, HOME: process.env.HOME });
  assert.notEqual(withoutSettings.status, 0);
  assert.match(withoutSettings.stderr, /set (SECRETS_KEYS|PUBLIC_BASE_URL|ADMIN_TOKEN)/);
});

test("Docker: the image builds; a worker container turns healthy, and without settings a role exits 78", async (t: TestContext) => {
  if (noDaemon) return t.skip(`no Docker daemon: ${noDaemon}`);
  const base = /^FROM (\S+)/m.exec(dockerfileText)![1]!;
  if (run(["docker", "image", "inspect", base]).status !== 0) {
    const pull = run(["docker", "pull", base], process.env, 600_000);
    if (pull.status !== 0) return t.skip(`cannot pull ${base}: ${pull.stderr.trim().split("\n").at(-1)}`);
  }
  const tag = "chatbot-backend:test";
  const build = run(["docker", "build", "-q", "-f", "docker/Dockerfile", "-t", tag, "."], process.env, 3_600_000);
  assert.equal(build.status, 0, build.stderr);

  const bare = run(["docker", "run", "--rm", "-e", "ROLE=worker", tag]);
  assert.equal(bare.status, 78, bare.stderr);
  assert.match(bare.stderr, /missing required settings for the worker role: DATABASE_URL, SECRETS_KEYS \(/);

  // Host networking: the container reaches this test's database and its health port is free here.
  const name = `cb-test-worker-${randomBytes(4).toString("hex")}`;
  const started = run([
    "docker",
    "run",
    "-d",
    "--name",
    name,
    "--network",
    "host",
    "-e",
    "ROLE=worker",
    "-e",
    `DATABASE_URL=${database.url}`,
    "-e",
    `SECRETS_KEYS=${settings.SECRETS_KEYS}`,
    "-e",
    `WORKER_HEALTH_PORT=${await freePort()}`,
    tag,
  ]);
  assert.equal(started.status, 0, started.stderr);
  try {
    let status = "";
    for (let i = 0; i < 60 && status !== "healthy"; i++) {
      await sleep(1_000);
      status = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", name]).stdout.trim();
    }
    assert.equal(status, "healthy", run(["docker", "logs", name]).stderr);
  } finally {
    run(["docker", "rm", "-f", name]);
  }
});
