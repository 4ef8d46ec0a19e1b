# softmax-serve: `docker build -t softmax-serve .` then
# `docker run -p 3000:3000 -v softmax-data:/data softmax-serve`.
# BASE_IMAGE stands for the official Node image (Node 24, the current LTS); CI builds a local
# stand-in with the same name because its machines cannot pull from a registry
# (scripts/container-setup.sh reads the name and the Node major version from this line).
ARG BASE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, compile (scripts/build.mjs), then drop the dev dependencies ---
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY browser ./browser
COPY scripts/build.mjs scripts/build-wasm.ts scripts/browser-bundle.mjs ./scripts/
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --ignore-scripts

# --- runtime: production dependencies, compiled output and Debian's Fashion-MNIST ---
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY public ./public
# Configuration only through the environment (docs/operations.md: Configuration). Shutdown stays
# inside `docker stop`'s 10 s: running jobs checkpoint and resume on the next start.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist \
    SHUTDOWN_TIMEOUT_MS=8000
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Node is PID 1 here; src/server.ts handles SIGTERM and SIGINT itself.
CMD ["node", "dist/src/server.js"]
