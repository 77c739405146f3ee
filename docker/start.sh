# The image's command: the role ROLE names, as PID 1 (exec), so SIGTERM reaches it and it drains.
# NODE_OPTIONS (Dockerfile) keeps V8's young generation small; the worker's is larger (its flag wins):
# its in-flight turns' objects then die young instead of being promoted, about 14% less of its CPU.
case "$ROLE" in
  web) exec node --import tsx apps/server/src/main.ts ;;
  worker) exec node --max-semi-space-size=16 --import tsx apps/worker/src/main.ts ;;
  *) echo "ROLE must be web or worker (got \"$ROLE\"); the migration is \`npm run migrate\`" >&2; exit 64 ;;
esac
