# One small image per deployable, built from its esbuild bundle (dev/deploy/bundle.ts: one ESM file plus the
# Avro schema / CQL files it reads at run time). The bundle is made on the host, never inside the build, so
# the image that is tested and the one that ships hold the same bytes:
#   npm run deploy -- <name>        bundles, then builds this file for linux/amd64, pushes and applies
#   by hand: npm run bundle -- <name> && podman build --platform linux/amd64 -f Dockerfile \
#              --build-arg FUNCTION=<name> -t <registry>/market-pipeline/<name>:<tag> .
# FUNCTION is one of trade-writer, minute-window, minute-finalizer, bridge, schema. The build context is the
# repository; .dockerignore lets only dist/ (without source maps) in.
#
# RUNTIME_IMAGE: the cluster build uses the public distroless Node runtime below (no shell, no package
# manager, nonroot). Tests, where no image registry is reachable, pass a locally assembled stand-in
# (dev/deploy/local-base-images.sh) with --build-arg RUNTIME_IMAGE=localhost/market-node-runtime:<tag>.
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

FROM --platform=linux/amd64 ${RUNTIME_IMAGE}
ARG FUNCTION
LABEL org.opencontainers.image.title="market-pipeline ${FUNCTION}" \
      org.opencontainers.image.source="market-pipeline"
WORKDIR /app
COPY dist/${FUNCTION}/ /app/
ENV NODE_ENV=production
# The manifests run every container as this uid with a read-only root filesystem (dev/deploy/images.int.test.ts).
USER 65532:65532
EXPOSE 8080
# The bundle tests (dev/deploy/bundle.test.ts) start each bundle with exactly this command.
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["main.js"]
