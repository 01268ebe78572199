# FROM --platform with a constant: the image is pulled for linux/amd64 even
# in an arm64 build, and a stage built on it inherits that platform, while
# COPY --from=image in it is pulled for the target platform.
FROM --platform=linux/amd64 ubuntu:22.04 AS amd64-only
RUN echo x86

FROM amd64-only AS final
COPY --from=busybox:1.36 /bin/busybox /busybox
