# The relsync image for CI jobs, for teams that build images with docker, kaniko or buildah.
# Its file system is laid out by scripts/image-rootfs.sh, the script the daemonless build
# (scripts/build-image.sh) runs: a static relsync, Debian's CA bundle and a static busybox as
# /bin/sh with its applets; no compiler, no package manager.
#
#   docker build --build-arg RELSYNC_BUILD_COMMIT="$(git rev-parse HEAD)" -t relsync .
#   docker run --rm -v "$PWD:/builds/app" -w /builds/app relsync relsync plan --offline
#
# relsync is built for the builder's own architecture (x86_64 or aarch64), fully static (musl).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The commit `relsync --version` prints (.git is not sent to the builder).
ARG RELSYNC_BUILD_COMMIT=unknown
COPY . .
RUN target="$(uname -m)-unknown-linux-musl" \
 && rustup target add "$target" \
 && CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc \
    cargo build --locked --release --target "$target" \
 && scripts/image-rootfs.sh /out "target/$target/release/relsync" /bin/busybox /etc/ssl/certs/ca-certificates.crt

FROM scratch
COPY --from=build /out/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL org.opencontainers.image.title=relsync \
      org.opencontainers.image.source=https://github.com/relsync/relsync \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
CMD ["relsync", "--help"]
