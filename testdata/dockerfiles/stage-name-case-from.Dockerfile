# FROM matches stage names in lower case only: "FROM Build" after "AS Build"
# is an image reference, and an upper-case repository name is invalid. The
# error fails every target, not only the ones that reach the stage.
# expect-error: repository name (library/Build) must be lowercase
FROM golang:1.22 AS Build
RUN echo built > /built

FROM Build AS test

FROM alpine:3.19 AS release
COPY --from=build /built /built
