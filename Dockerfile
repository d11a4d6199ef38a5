# syntax=docker/dockerfile:1
# tollgate production image: the compiled validator and its SQL migrations, nothing else.
# Build:  docker build -t tollgate:$(git rev-parse --short HEAD) .
# The dev IdP (keycloak/dev-idp), devkit/, scripts/, tests and dev dependencies never enter the runtime stage;
# test/deploy/image.test.ts proves the compiled output holds no token-minting code or key material.

# Node 24 LTS: the runtime the tests run on (package.json `engines` and the `node` devDependency;
# test/deploy/runtime.test.ts keeps the three in step).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full dependency tree, compile validator/ only (tsconfig.prod.json) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.prod.json ./
COPY validator ./validator
RUN npx tsc -p tsconfig.prod.json
# The embedded store's template (a fresh PGlite cluster, node_modules/.cache/tollgate): a new DATA_DIR
# is copied from it instead of running initdb at start (12-16 s and ~850 MB peak RSS, against ~1 s and ~250 MB).
RUN node dist-prod/validator/store/embedded-template.js

# ---- runtime: production dependencies + compiled output, run as the unprivileged `node` user ----
FROM ${NODE_IMAGE} AS runtime
# DATA_DIR is the embedded-database fallback only (no DATABASE_URL): keeping it under /tmp lets the
# container run with a read-only root filesystem. Production sets DATABASE_URL.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/tmp/tollgate-data \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs an install script; refusing them keeps the
# runtime layer free of code run at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/node_modules/.cache/tollgate ./node_modules/.cache/tollgate
# Same layout as a development checkout (dist/validator, migrations/), so `node dist/validator/...`
# commands and the migration runner's path to migrations/ are identical in and out of the image.
COPY --from=build /src/dist-prod/validator ./dist/validator
COPY migrations ./migrations
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --max-semi-space-size=8: Node 22+ sizes V8's young generation from the machine's memory (up to
# 3 x 64 MB on a large host), which alone put a validator's RSS past 200 MB; at 8 MB it peaked at
# ~141 MB with the same decision rate (docs/PERFORMANCE.md, Memory). A container memory limit
# shrinks it further by itself.
CMD ["node", "--enable-source-maps", "--max-semi-space-size=8", "dist/validator/server.js"]
