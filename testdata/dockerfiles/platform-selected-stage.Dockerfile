# A stage chosen by platform: build-${TARGETOS} names the build-linux stage
# on Linux; the build-windows stage is reachable only from its own target.
FROM golang:1.22 AS build-linux
RUN echo linux

FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS build-windows
RUN echo windows

FROM build-${TARGETOS} AS build

FROM alpine:3.19
COPY --from=build / /out
