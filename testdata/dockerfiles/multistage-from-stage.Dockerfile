# Stages built on stages: FROM an earlier stage name is no image, and the
# final stage copies from a named stage. Each --target pulls only what it
# reaches.
FROM golang:1.22-bookworm AS build
WORKDIR /src
RUN go build -o /out/app .

FROM build AS test
RUN go test ./...

FROM gcr.io/distroless/static-debian12:nonroot AS release
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
