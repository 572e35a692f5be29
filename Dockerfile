FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production PORT=3005
EXPOSE 3005
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
