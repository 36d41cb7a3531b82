# syntax=docker/dockerfile:1
# One image for every TaskMaster role (server with the built dashboard, coordinator, worker, and the
# one-shot migration); docker-compose.yml and deploy/kubernetes pick the command per role:
#   node .build/server/main.js | .build/coordinator/main.js | --max-semi-space-size=2 .build/worker/main.js
#   npm run db:migrate          (the V8 flags are processCommand's, server/process_command.ts)
# The processes run compiled JavaScript on plain node (`npm run build`, as `npm start` runs them):
# no TypeScript loader in the process, which saves ~30 MB in each.

# ---- build: dependencies, generated code, the dashboard -------------------------------------
FROM node:20-slim AS build
WORKDIR /app
# Dependencies first, for layer caching. `npm ci` runs the postinstall step (scripts/generate.ts:
# Prisma Client and the gRPC types), which reads the schema and the proto file.
COPY package.json package-lock.json ./
COPY scripts/generate.ts scripts/generate.ts
COPY prisma/schema.prisma prisma/prisma.config.ts prisma/
COPY proto/api.proto proto/
RUN npm ci && npm cache clean --force
COPY . .
# The dashboard (web/dist, served by the server) with `npm run build:web`, the processes
# (.build/<role>/main.js) with `npm run build`, then drop what only building and testing need (vite,
# vitest, testcontainers...).
RUN npm run --if-present build:web && npm run build && npm prune --omit=dev && npm cache clean --force

# ---- runtime: the same files, no build cache, a non-root user ------------------------------
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    TASKMASTER_ROLE=server
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 8081 8080 50051
# One health check for every role, chosen by TASKMASTER_ROLE (set per service):
#   server       GET /healthz on SCHEDULER_PORT (200 when PostgreSQL answers)
#   coordinator  a TCP connection to its gRPC port (COORDINATOR_PORT)
#   worker       a TCP connection to its gRPC port (WORKER_PORT; set a fixed one, e.g. 50051)
#   migrate      none (a one-shot step)
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "const e=process.env,r=e.TASKMASTER_ROLE||'server',p=(v,d)=>Number(String(v||'').replace(/^.*:/,''))||d;if(r==='migrate')process.exit(0);if(r==='server'){fetch('http://127.0.0.1:'+p(e.SCHEDULER_PORT,8081)+'/healthz').then(x=>process.exit(x.ok?0:1),()=>process.exit(1))}else{const s=require('node:net').connect(r==='worker'?p(e.WORKER_PORT,50051):p(e.COORDINATOR_PORT,8080),'127.0.0.1');s.setTimeout(4000,()=>process.exit(1));s.on('connect',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1))}"]
CMD ["node", ".build/server/main.js"]
