# COPY --from takes no variables, and BuildKit's error carries no line.
# expect-error: variable expansion is not supported for --from
ARG SRC=alpine:3.19
FROM busybox:1.36
COPY --from=$SRC / /
