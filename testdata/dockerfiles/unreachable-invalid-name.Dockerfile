# A stage no target reaches still has its base name parsed: its invalid
# reference fails every build of the file.
# expect-error: failed to parse stage name "registry.example.com/Team/tool:1"
FROM alpine:3.19 AS good
FROM registry.example.com/Team/tool:1 AS broken
FROM good AS final
