# COPY --from may name a stage defined later only if that stage is already
# built: here it is not, and only the targets that reach the copy fail.
# expect-error: cannot copy from stage "assets", it needs to be defined before current stage "web"
FROM nginx:1.27 AS web
COPY --from=assets /dist /usr/share/nginx/html

FROM node:20 AS assets
RUN npm run build
