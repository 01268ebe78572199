# A stage may be named "scratch": FROM scratch then builds that stage, and a
# cache mount without from= (which reads from "scratch") mounts it, so the
# stage's image is pulled for targets that never name it.
FROM alpine:3.19 AS scratch
RUN mkdir -p /cache

FROM busybox:1.36 AS cached
RUN --mount=type=cache,target=/root/.cache true

FROM debian:bookworm-slim AS tmp
RUN --mount=type=tmpfs,target=/tmp true

FROM scratch AS final
