# Global ARGs: several k=v on one line, a chain where one default uses
# another (and itself), and defaults quoted or not.
ARG REGISTRY=docker.io OWNER=library IMAGE="python"
ARG PY=3.12 DIST=slim
ARG TAG=${PY}-${DIST}
ARG TAG=${TAG}-bookworm
ARG BASE=${REGISTRY}/${OWNER}/${IMAGE}:${TAG}

FROM ${BASE} AS app
RUN python --version

FROM $REGISTRY/$OWNER/busybox:1.36 AS probe
