# An invalid image reference in FROM.
# expect-error: failed to parse stage name "alpine:3.19:extra"
FROM alpine:3.19:extra
