# check=error=true
# With lint errors enabled, BuildKit fails the build on any lint warning:
# here "as" in lower case after an upper-case FROM (rule FromAsCasing).
# expect-error: lint violation found for rules: FromAsCasing
FROM alpine:3.19 as build
FROM busybox:1.36
COPY --from=build / /
