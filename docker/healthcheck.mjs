// The image's HEALTHCHECK: the container's role answers /readyz. The web role listens on PORT, a
// worker serves its health on WORKER_HEALTH_PORT (docker/start.sh starts the role ROLE names).
const port = process.env.ROLE === "worker" ? process.env.WORKER_HEALTH_PORT : process.env.PORT;
try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
