# Stages only some targets reach: the default target skips lint and docs, an
# unnamed middle stage is reached by no target at all, and --target docs
# pulls only its own image.
FROM golangci/golangci-lint:v1.59 AS lint
RUN golangci-lint run

FROM squidfunk/mkdocs-material:9 AS docs
RUN mkdocs build

FROM hadolint/hadolint:2.12.0
RUN hadolint --version

FROM golang:1.22 AS build
RUN go build ./...

FROM alpine:3.19 AS release
COPY --from=build /go/bin /usr/local/bin
