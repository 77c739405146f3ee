import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the web role at /console (hashed assets under /console/assets, cached for good).
// `npm run dev -w @cb/console` proxies the API to a running server (`npm start`).
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: { "/v1": { target: process.env.CB_API_URL ?? "http://127.0.0.1:3000", changeOrigin: true } },
  },
});
