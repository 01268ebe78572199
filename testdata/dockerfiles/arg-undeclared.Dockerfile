# A variable never declared as ARG expands to nothing in FROM; a build arg
# of the same name would not change that (build args set declared ARGs only).
FROM alpine:3.19${SUFFIX} AS bare
FROM debian:bookworm${DEBIAN_SUFFIX:-}-slim AS braced
