# syntax=docker/dockerfile:1
# runner and runnerctl in one small image (deploy/kubernetes/runner.yaml runs it):
#
#   DOCKER_BUILDKIT=1 docker build -t ghcr.io/example/runner:0.1.0 .
#
# The build needs only this repository. The runtime image is distroless (glibc, no shell,
# no package manager) and runs as the non-root user 65532; the StatefulSet's preStop hook
# drains with the image's own runnerctl.

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS builder
# libmdbx's build script runs bindgen, which needs libclang. Versions come with the pinned
# bookworm base; pinning them here too would break on every Debian point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libclang-dev clang \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target dir live in BuildKit cache mounts (kept between builds, not in a
# layer), so the binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p runner -p runnerctl \
    && install -D -m 0755 -t /out target/release/runner target/release/runnerctl

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="runner" \
      org.opencontainers.image.description="Saga runner daemon (runner) and its operator CLI (runnerctl)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/deployment.md" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=builder /out/runner /out/runnerctl /usr/local/bin/
# 65532 is distroless's `nonroot` user; numeric so that Kubernetes can check runAsNonRoot
# without a runAsUser of its own.
USER 65532:65532
# The admin API: /healthz, /readyz, /metrics, /admin/* (set RUNNER_ADMIN_ADDR=0.0.0.0:7070
# and RUNNER_ADMIN_TOKEN to reach it from outside the container).
EXPOSE 7070
ENTRYPOINT ["/usr/local/bin/runner"]
