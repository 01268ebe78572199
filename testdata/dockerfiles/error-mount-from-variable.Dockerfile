# RUN --mount from= takes no variables either, rejected while parsing.
# expect-error: 'from' doesn't support variable expansion
ARG SRC=alpine:3.19
FROM busybox:1.36
RUN --mount=type=bind,from=${SRC},target=/mnt true
