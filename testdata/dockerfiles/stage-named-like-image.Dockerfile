# A stage named like an image: after "FROM node:20 AS node", FROM node and
# COPY --from=node mean the stage, while COPY --from=node:20 is the image.
FROM node:20 AS node
RUN npm --version

FROM node AS deps
RUN npm ci

FROM nginx:1.27 AS web
COPY --from=node /usr/local/bin/node /node
COPY --from=node:20 /usr/local/bin/npm /npm
