# Cross-compilation: the build stage runs on the build platform, declares
# TARGETOS/TARGETARCH in its scope, and the result lands on a target image.
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM --platform=${TARGETPLATFORM} gcr.io/distroless/static-debian12 AS release
COPY --from=build /out/app /app
