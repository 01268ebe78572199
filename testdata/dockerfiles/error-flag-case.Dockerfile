# Instructions are case-insensitive, their flags are not: --From is unknown.
# expect-error: unknown flag: --From
FROM alpine:3.19 AS base
FROM busybox:1.36
COPY --From=base / /base
