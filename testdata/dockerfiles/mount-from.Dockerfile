# RUN --mount from= an image and from= a stage; the image is pulled, the
# stage is built. Options come in any order.
FROM node:20-alpine AS deps
RUN echo deps > /deps

FROM python:3.12-slim
RUN --mount=type=bind,from=deps,source=/deps,target=/mnt/deps cat /mnt/deps
RUN --mount=target=/mnt/tools,type=bind,from=quay.io/prometheus/busybox:glibc,source=/bin ls /mnt/tools
RUN --mount=type=bind,target=/mnt/both,from=deps --mount=type=bind,from=hashicorp/terraform:1.8,target=/mnt/tf true
