# One stage from a tagged Docker Hub library image: the simplest lock entry.
FROM alpine:3.19
RUN apk add --no-cache ca-certificates
CMD ["sh"]
