# COPY --from naming images rather than stages: a tag, a registry with a
# port, a digest, and a stage name that merely looks like an image.
FROM alpine:3.20 AS tools
RUN echo tools > /tools

FROM alpine:3.20
COPY --from=tools /tools /tools
COPY --from=docker.io/bitnami/kubectl:1.30 /opt/bitnami/kubectl/bin/kubectl /usr/local/bin/
COPY --from=registry.example.com:5000/team/assets:2024.06 /assets /srv/assets
COPY --from=ghcr.io/astral-sh/uv@sha256:7250b31a1192e6829f31ef39dce7497b763b586e81aa105ef73180f9464f80aa /uv /bin/uv
