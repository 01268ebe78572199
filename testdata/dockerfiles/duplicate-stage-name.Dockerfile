# Two stages with one name: the later one wins for --target and COPY --from,
# while FROM sees only the stages above it, so FROM base between the two
# means the first.
FROM alpine:3.19 AS base
FROM base AS early-user
FROM debian:bookworm AS base
FROM base AS late-user
COPY --from=base / /
