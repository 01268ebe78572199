# COPY --from with an index past the last stage.
# expect-error: invalid stage index 2
FROM alpine:3.19
FROM busybox:1.36
COPY --from=2 / /
