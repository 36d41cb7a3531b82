# One image for every TaskMaster role; docker-compose.yml picks the command per service:
#   node --import tsx coordinator/main.ts | server/main.ts | worker/main.ts, npm run db:migrate
FROM node:20-slim

WORKDIR /app

# Dependencies first, for layer caching. `npm ci` runs the postinstall step (scripts/generate.ts:
# Prisma Client and the gRPC types), which reads the schema and the proto file.
COPY package.json package-lock.json ./
COPY scripts/generate.ts scripts/generate.ts
COPY prisma/schema.prisma prisma/prisma.config.ts prisma/
COPY proto/api.proto proto/
RUN npm ci && npm cache clean --force

COPY . .
# The dashboard (web/dist, served by the server), then drop what only building and testing need.
RUN npm run --if-present build:web && npm prune --omit=dev

ENV NODE_ENV=production \
    LOG_FORMAT=json
USER node
CMD ["node", "--import", "tsx", "server/main.ts"]
