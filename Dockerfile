# One small image per deployable, built from the repo alone:
#   docker build --build-arg FUNCTION=trade-writer -t <registry>/market-pipeline/trade-writer:<tag> .
# FUNCTION is one of trade-writer, minute-window, minute-finalizer, bridge, schema (dev/deploy/bundle.ts).
# `npm run deploy -- <function>` runs this with whichever of podman, buildah or docker is installed.
#
# Stage 1 bundles the function with esbuild (one ESM file + the Avro schema / CQL files it reads at run
# time); stage 2 is a distroless Node runtime (no shell, no package manager) running as uid 65532.
ARG BUILD_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The lock pins every version; `npm install` rather than `npm ci` because the lock lacks optional platform
# packages some registries do not serve, which `npm ci` rejects (see dev/bootstrap.sh).
RUN npm install --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY shared ./shared
COPY functions ./functions
COPY dev/deploy/bundle.ts ./dev/deploy/bundle.ts
ARG FUNCTION
RUN test -n "$FUNCTION" \
 && node --import tsx dev/deploy/bundle.ts "$FUNCTION" \
 && rm -f "dist/$FUNCTION"/*.map \
 && mv "dist/$FUNCTION" /app

FROM ${RUNTIME_IMAGE}
ARG FUNCTION
LABEL org.opencontainers.image.title="market-pipeline ${FUNCTION}" \
      org.opencontainers.image.source="market-pipeline"
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8080
# The bundle tests (dev/deploy/bundle.test.ts) start each bundle with exactly this command.
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["main.js"]
