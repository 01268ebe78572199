# syntax=docker/dockerfile:1.7
# The syntax directive names the frontend image; it is no FROM, and an ARG
# called BUILDKIT_SYNTAX in the file does not change it (only a build arg does).
ARG BUILDKIT_SYNTAX=docker/dockerfile:1.4
FROM alpine:3.19
RUN echo syntax
