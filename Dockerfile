# An image with firstbell on its PATH, for the shard pods of 'firstbell export k8s':
#   docker build -t firstbell:0.1.0 .   then push it where your cluster pulls from, and give it with --image.
# Protocol users only: browser users in a pod would need Chromium (apt-get install chromium) and far more memory.
FROM node:22-bookworm-slim
WORKDIR /opt/firstbell
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && ln -s /opt/firstbell/dist/cli.js /usr/local/bin/firstbell
USER node
