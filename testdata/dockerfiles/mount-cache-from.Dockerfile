# A cache mount whose id is "node" and whose from= is node: the word shows
# up in another option first, and only from= names an image. A cache mount
# without from= starts empty (scratch).
FROM debian:bookworm AS app
RUN --mount=type=cache,id=node,target=/root/.npm,from=node npm ci
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update
