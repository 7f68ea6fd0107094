# The OmniRelay Control Plane image: one server process per container (deploy/helm/omnirelay runs it).
# Build from the repository root: docker build -t omnirelay/control-plane:0.1.0 .
# Stage 1 compiles the TypeScript with every dependency; stage 2 keeps only the compiled packages,
# the .proto files (loaded at run time) and the production dependencies, and runs as a non-root user.

FROM node:20-slim AS build
WORKDIR /src
# The manifests first, so a source change does not reinstall the dependencies.
COPY package.json package-lock.json .npmrc ./
COPY packages/raft/package.json packages/raft/
COPY packages/leadership-fsm/package.json packages/leadership-fsm/
COPY packages/certs/package.json packages/certs/
COPY packages/server/package.json packages/server/
COPY packages/client-sdk/package.json packages/client-sdk/
COPY packages/cli/package.json packages/cli/
COPY packages/snapshot-file/package.json packages/snapshot-file/
RUN npm ci --no-audit --no-fund
# Only the server and the CLI (and the packages they reference): the root tsconfig.json also
# builds tools (chaos/) that are not in the image.
COPY tsconfig.base.json ./
COPY proto proto
COPY packages packages
RUN npx tsc --build packages/server packages/cli \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf packages/*/src packages/*/test packages/*/tsconfig*.json packages/*/dist/*.tsbuildinfo

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/proto proto
COPY --from=build /src/packages packages
# The chart's podSecurityContext runs the container as 10001:10001 with a read-only root
# filesystem; the data folder is a volume mounted at /var/lib/omnirelay.
RUN groupadd --system --gid 10001 omnirelay \
  && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/omnirelay --no-create-home omnirelay \
  && mkdir -p /var/lib/omnirelay \
  && chown 10001:10001 /var/lib/omnirelay \
  && ln -s /app/packages/cli/bin/omnirelay.js /usr/local/bin/omnirelay
USER 10001:10001
EXPOSE 7101 7201 7301
# MALLOC_ARENA_MAX: SERVER_NODE_ENV (packages/server/src/runtime-flags.ts); glibc reads it at start-up.
ENV MALLOC_ARENA_MAX=2
# --max-semi-space-size, --no-lazy, --always-sparkplug: SERVER_NODE_FLAGS (packages/server/src/runtime-flags.ts).
CMD ["node", "--max-semi-space-size=64", "--no-lazy", "--always-sparkplug", "/app/packages/server/dist/main.js"]
