# Line continuations inside FROM, ARG, COPY and RUN --mount.
ARG BASE=debian \
    TAG=bookworm-slim
FROM \
  ${BASE}:${TAG} \
  AS \
  base
RUN --mount=type=bind,\
from=docker.io/library/golang:1.22,\
target=/go-root \
    ls /go-root
COPY \
  --from=registry.example.com/tools/jq:1.7 \
  /jq /usr/local/bin/jq
