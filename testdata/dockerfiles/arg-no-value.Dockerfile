# An ARG declared without a value expands to nothing: busybox:stable${VARIANT}
# is busybox:stable unless --build-arg VARIANT=-musl is given.
ARG VARIANT
FROM busybox:stable${VARIANT}
RUN true
