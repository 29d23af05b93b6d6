# One Dockerfile for the three deployables (capture, applier, verifier). The app is chosen at build time:
#   docker build --build-arg APP=applier -t cdc-applier .
# docker-compose.yml builds it once per app service with `build.args.APP`. The build stage is identical for
# every APP, so the second and third builds reuse its cached layers; only the small runtime stage differs.
# test/unit/compose.spec.ts reads this file and docker-compose.yml (no Docker engine is needed for that).

# The base of both stages. With a registry: the public node image (the default). Without one: a local image with
# the same layout (Node 20 and npm on Debian bookworm, a `node` user), e.g. `npm run images` builds
# cdc-local/node:<version> from a debootstrap base and passes --build-arg BASE_IMAGE=cdc-local/node:<version>.
ARG BASE_IMAGE=node:20-bookworm-slim

############################## build: compile every app, then drop dev dependencies
FROM ${BASE_IMAGE} AS build
WORKDIR /src

COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would run the build before the sources are copied in.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

############################## runtime: production node_modules + the webpack bundles, as user `node`
FROM ${BASE_IMAGE} AS runtime

WORKDIR /app
# Root-owned and read-only to the app user: the process cannot rewrite its own code. These layers come before
# ARG APP, so the three app images share them (one copy on disk, cached across the three builds).
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin

ARG APP=capture
ENV APP=${APP} \
    NODE_ENV=production

# Fail the image build, not the first start, when APP names no built app.
RUN test -f "dist/apps/${APP}/main.js" || { echo "APP=${APP}: dist/apps/${APP}/main.js was not built" >&2; exit 1; }

USER node

# Default HTTP ports (apps/*/src/main.ts): capture 8081, applier 8082, verifier 8083; HTTP_PORT overrides.
EXPOSE 8081 8082 8083

# No curl in slim images: Node's own fetch against /health (503 from Terminus when a probe is down).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const p=process.env.HTTP_PORT||{capture:8081,applier:8082,verifier:8083}[process.env.APP];fetch('http://127.0.0.1:'+p+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# `exec` so node is PID 1 and gets SIGTERM itself: the applier drains and commits before it exits.
CMD ["sh", "-c", "exec node dist/apps/$APP/main.js"]
