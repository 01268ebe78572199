# RUN --mount from= takes no stage index: from=0 names the image "0"
# (docker.io/library/0:latest), unlike COPY --from=0.
FROM alpine:3.19 AS first
RUN echo one > /one

FROM busybox:1.36
COPY --from=0 /one /copied
RUN --mount=type=bind,from=0,target=/mnt cat /mnt/one
