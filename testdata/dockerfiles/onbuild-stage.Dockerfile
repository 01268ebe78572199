# ONBUILD in a stage runs in the stages built FROM it: its COPY --from=image
# is pulled for the child (and so for what is built on the child), never
# for the parent as a target.
FROM alpine:3.19 AS parent
ONBUILD COPY --from=nginx:1.27 /etc/nginx /etc/nginx

FROM parent AS child

FROM child AS grandchild
RUN true
