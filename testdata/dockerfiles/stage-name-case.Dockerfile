# Mixed-case stage names: AS Build declares "build"; COPY --from and
# RUN --mount from= find it in any case.
FROM golang:1.22 AS Build
RUN echo built > /built

FROM alpine:3.19 AS Runtime
COPY --from=BUILD /built /built
RUN --mount=type=bind,from=bUiLd,target=/mnt true
COPY --from=build /built /again
