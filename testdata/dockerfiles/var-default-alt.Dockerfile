# ${VAR:-default}, ${VAR-default}, ${VAR:+alt} and ${VAR+alt} in FROM, with the
# variable unset, declared empty and set.
ARG SET=3.19
ARG EMPTY=
ARG NOVALUE
FROM alpine:${UNSET:-3.18} AS unset-default
FROM alpine:${EMPTY:-3.17} AS empty-colon-default
FROM alpine:3.16${EMPTY-ignored} AS empty-default
FROM alpine:${SET:+3.15} AS set-alt
FROM alpine:3.14${NOVALUE:+-never} AS novalue-alt
FROM alpine:3.13${EMPTY+-empty-is-set} AS empty-plus
