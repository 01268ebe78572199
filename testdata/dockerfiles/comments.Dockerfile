# Comments: whole-line comments that hold FROM text, an indented comment,
# a comment between continuation lines, and a # inside an instruction,
# which is no comment.
# FROM commented-out:1
FROM alpine:3.19 AS base
    # FROM indented-comment:1
RUN echo "# FROM in a string" && \
# FROM between-continued-lines:1
    echo done
FROM busybox:1.36 AS odd
RUN echo not#a#comment # FROM still-not-a-comment:1
