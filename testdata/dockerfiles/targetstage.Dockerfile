# TARGETSTAGE is an automatic ARG holding the --target as given (not lower-
# cased), or the last stage's name, or "default" if it has none.
FROM alpine:3.19 AS tools
FROM ghcr.io/example/env:${TARGETSTAGE} AS dev
FROM registry.example.com/app/base:${TARGETSTAGE}
