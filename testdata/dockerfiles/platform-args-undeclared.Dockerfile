# BuildKit's automatic platform ARGs work in FROM without being declared.
FROM alpine:3.19-$TARGETARCH AS by-arch
FROM ghcr.io/example/${TARGETOS}-base:${TARGETARCH}${TARGETVARIANT} AS by-os
FROM registry.example.com/builders/${BUILDOS}-${BUILDARCH}:1 AS by-build
