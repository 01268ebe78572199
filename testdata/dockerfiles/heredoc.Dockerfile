# Heredocs whose text looks like instructions: none of it is a FROM.
FROM alpine:3.19 AS gen
RUN <<EOT sh
cat > /Dockerfile.inner <<'INNER'
FROM evil.example.com/not-pulled:1
INNER
echo "FROM also-not-pulled" > /note
EOT
COPY <<EOT /etc/motd
FROM heredoc-text:latest
COPY --from=nothing:1 / /
EOT

FROM gen
RUN cat /etc/motd
