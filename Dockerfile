# Multi-stage build of the `klg` binary (API, projector, mirror and tools in one).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin klg

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data klg \
 && mkdir -p /data/blobs && chown -R klg /data
COPY --from=build /src/target/release/klg /usr/local/bin/klg
USER klg
ENV KLG_BIND=0.0.0.0:8080 KLG_BLOB_DIR=/data/blobs KLG_LOG_FORMAT_JSON=true
EXPOSE 8080
ENTRYPOINT ["klg"]
CMD ["serve"]
