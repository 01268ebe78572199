# A global ARG picks the base stage: base-${FLAVOR} is base-alpine by default;
# --build-arg FLAVOR=debian picks the other stage.
ARG FLAVOR=alpine

FROM alpine:3.19 AS base-alpine
RUN apk add --no-cache curl

FROM debian:bookworm-slim AS base-debian
RUN apt-get update

FROM base-${FLAVOR} AS final
