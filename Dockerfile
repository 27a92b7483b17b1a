# syntax=docker/dockerfile:1
# A metatracker tracker in a container (docs/operations.md, "Running as a service").
#   docker build -t metatracker .
#   docker run -d --name tracker -p 3520:3520/udp -p 3520:3520/tcp -p 3521:3521 \
#       -v metatracker-data:/data metatracker
# Extra flags go after the image name (`... metatracker --flood-rate 50`); a config file can be
# mounted and named with `--config`.

# Build stage: dev dependencies and the TypeScript compiler, thrown away afterwards.
FROM node:20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Runtime stage: node, the build and the production dependencies only.
FROM node:20-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY LICENSE ./
COPY bootpage ./bootpage
# The data directory (cookie secret, checkpoints) outlives the container.
RUN mkdir /data && chown node:node /data
VOLUME ["/data"]
# The image's unprivileged user; the ports are above 1024.
USER node
EXPOSE 3520/udp 3520/tcp 3521/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:3521/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node itself is PID 1 and receives SIGTERM (docker stop) and SIGHUP (docker kill -s
# HUP: deny-list reload) directly; serve handles both and writes its last checkpoint on stop. No
# npm or shell in between (a shell would not forward the signal).
ENTRYPOINT ["node", "dist/cli/main.js", "serve", "--host", "0.0.0.0", "--data", "/data"]
STOPSIGNAL SIGTERM
