# Declaring an automatic ARG without a value keeps BuildKit's value; giving
# it a default replaces BuildKit's value (TARGETOS is "plan9" here however
# the build is run).
ARG TARGETARCH
ARG TARGETOS=plan9
FROM alpine:3.19-${TARGETARCH} AS arch
FROM busybox:${TARGETOS} AS os
