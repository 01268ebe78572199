# imglock's own image: built with `imglock build`, its bases pinned in images.lock.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/imglock ./cmd/imglock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/imglock /usr/local/bin/imglock
ENTRYPOINT ["/usr/local/bin/imglock"]
