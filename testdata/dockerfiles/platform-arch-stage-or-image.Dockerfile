# helper-${TARGETARCH} names a stage where one exists for the architecture
# (amd64) and an image otherwise: on arm64 it pulls docker.io/library/helper-arm64.
FROM debian:bookworm AS helper-amd64
RUN echo amd64 helper

FROM helper-${TARGETARCH} AS helper

FROM alpine:3.19
COPY --from=helper / /helper
