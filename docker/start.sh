# The image's command: the role ROLE names, as PID 1 (exec), so SIGTERM reaches it and it drains.
case "$ROLE" in
  web) exec node --import tsx apps/server/src/main.ts ;;
  worker) exec node --import tsx apps/worker/src/main.ts ;;
  *) echo "ROLE must be web or worker (got \"$ROLE\"); the migration is \`npm run migrate\`" >&2; exit 64 ;;
esac
