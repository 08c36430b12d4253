# syntax=docker/dockerfile:1
# Tributary on Node 24: one image for every role (`serve`, `worker`, `migrate`, `run`, …); the command
# picks the role. See docs/deployment.md. Node 24 runs the TypeScript sources directly.

# --- build: the web console (Vite) needs the dev dependencies -------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dependency would download a second Node; the image has one (its
# uninstalled shim is removed so that scripts find the image's node on PATH)
RUN npm ci --ignore-scripts && rm -f node_modules/.bin/node
COPY . .
RUN npm run build:ui

# --- runtime: production dependencies, the sources and the built console ---------------------------
FROM node:24-slim
ENV NODE_ENV=production \
    TRIBUTARY_DATA_DIR=/data \
    TRIBUTARY_HOST=0.0.0.0 \
    TRIBUTARY_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dependency would download a second Node (bin/tributary uses the image's)
RUN npm ci --omit=dev --ignore-scripts && rm -f node_modules/.bin/node && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY --from=build /app/dist/ui ./dist/ui
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# bin/tributary execs node, so node is PID 1 and receives SIGTERM: runs finish their batch in flight
ENTRYPOINT ["/app/bin/tributary"]
CMD ["serve"]
