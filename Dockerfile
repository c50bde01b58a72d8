# syntax=docker/dockerfile:1
# slack-audit image: build with the dev toolchain, ship only the compiled code and production dependencies.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
# The image's unprivileged `node` user (uid 1000); nothing here needs root.
USER node
# /healthz, /readyz, /metrics (SLACK_AUDIT_METRICS_PORT); docker-compose.yml publishes it on 127.0.0.1 only.
EXPOSE 9464
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["run", "--role", "all"]
