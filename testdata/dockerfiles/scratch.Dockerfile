# scratch is no image: FROM scratch, a stage built on a scratch stage, and
# COPY --from=scratch pull nothing.
FROM scratch AS empty
COPY hello /hello

FROM empty AS layered
COPY --from=scratch / /

FROM alpine:3.19 AS shell
COPY --from=layered /hello /hello
