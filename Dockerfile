# syntax=docker/dockerfile:1
#
# A Governor node: `docker build -t governorjs/governor .` then
#   docker run -e REDIS_URL=redis://redis:6379 -e GOVERNOR_ADMIN_TOKEN=… -p 9464:9464 governorjs/governor
# (the Kubernetes manifests from `governor deploy render` run this image with `args: [start]`).
#
# The image runs the built JavaScript, as the published package does: a build stage compiles the
# TypeScript sources with `npm run build` (plain tsc into dist/), and the runtime holds dist/, the
# bin and the production node_modules, no sources and no TypeScript tooling.

# Node 24, the current LTS. Pin a digest here in CI for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

# ── build: every dependency from the lockfile, then dist/ ────────────────────────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY machines ./machines
COPY supervisors ./supervisors
RUN npm run build

# ── deps: production dependencies only, from the lockfile ────────────────────────────────────
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ── runtime: dist/ + production node_modules, as a non-root user ──────────────────────────────
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
COPY package.json package-lock.json ./
COPY bin/governor.js ./bin/
COPY --from=build /app/dist ./dist
# The official Node images' unprivileged user (uid/gid 1000, as the manifests' securityContext says).
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/governor.js"]
CMD ["start"]
