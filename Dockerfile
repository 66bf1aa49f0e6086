# syntax=docker/dockerfile:1
#
# A Governor node: `docker build -t governor .` then
#   docker run -e REDIS_URL=redis://redis:6379 -e GOVERNOR_ADMIN_TOKEN=… -p 9464:9464 governor
# (the Kubernetes manifests from `governor deploy render` run this image with `args: [start]`).
#
# ASSUMPTION — there is no build step yet. Today the project runs its TypeScript sources directly
# (vitest, tsx) and tsconfig.json has `noEmit`; Node cannot run them in production. This file
# assumes a future `npm run build` that compiles src/, machines/ and supervisors/ to dist/ (keeping
# the folder layout, so the CLI entry is dist/src/cli/main.js, the package's `governor` bin), e.g.
# with `tsc -p tsconfig.build.json` and `rewriteRelativeImportExtensions` (the sources import with
# `.ts` extensions). Until that script exists the build stage fails loudly, rather than producing
# an image that cannot start.

# Pin a digest here in CI for reproducible builds.
ARG NODE_IMAGE=node:20-bookworm-slim

# ── build: all dependencies, compile TypeScript ──────────────────────────────────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY machines ./machines
COPY supervisors ./supervisors
RUN npm run build

# ── deps: production dependencies only ───────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ── runtime: compiled code + production node_modules, as a non-root user ─────────────────────
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (which then drains its workers) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    GOVERNOR_METRICS_HOST=0.0.0.0 \
    GOVERNOR_METRICS_PORT=9464
# Owned by root and only readable by the process: the node cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The official Node images' unprivileged user (uid/gid 1000, as the manifests' securityContext says).
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli/main.js"]
CMD ["start"]
