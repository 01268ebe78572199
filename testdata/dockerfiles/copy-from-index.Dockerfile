# COPY --from with a stage index: 0 and 1 are the first and second stages,
# never images named "0" or "1".
FROM debian:bookworm-slim
RUN echo first > /first

FROM ubuntu:24.04
RUN echo second > /second

FROM busybox:1.36
COPY --from=0 /first /first
COPY --from=1 /second /second
