# Reference forms: registry hosts with ports, localhost, nested paths, a
# Docker Hub user repository, index.docker.io, tag plus digest, and a digest
# alone. A digest stays in the reference as written.
FROM localhost:5000/base/runtime:1.2.3 AS local
FROM registry.example.com:8443/platform/team/builder:2024-06-01 AS nested
FROM bitnami/redis:7.2 AS hub-user
FROM index.docker.io/library/postgres:16 AS index-host
FROM python:3.12-slim@sha256:7250b31a1192e6829f31ef39dce7497b763b586e81aa105ef73180f9464f80aa AS tag-and-digest
FROM gcr.io/distroless/base-debian12@sha256:69414fcc462ce88556aa8d23bc07ae3c2eb6cfb5ce08f56edd5d9e36bd39f72e AS digest-only
FROM [::1]:5000/ipv6/image:1 AS ipv6
