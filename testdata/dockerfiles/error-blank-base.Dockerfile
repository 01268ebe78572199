# A FROM that expands to nothing: BuildKit's "should not be blank" error.
# expect-error: base name (${BASE}) should not be blank
ARG BASE=
FROM ${BASE}
