import { defineConfig, type Plugin } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";

const backend = process.env.VEV_IQ_BACKEND ?? "http://127.0.0.1:8000";
const root = fileURLToPath(new URL("./frontend", import.meta.url));

/** In dev/preview, serve the GraphiQL entry at /graphiql like the backend does. */
function graphiqlPath(): Plugin {
  const rewrite = (req: { url?: string }, _res: unknown, next: () => void) => {
    if (req.url === "/graphiql" || req.url?.startsWith("/graphiql?")) {
      req.url = req.url.replace("/graphiql", "/graphiql.html");
    }
    next();
  };
  return {
    name: "vev-iq-graphiql-path",
    configureServer(server) {
      server.middlewares.use(rewrite);
    },
    configurePreviewServer(server) {
      server.middlewares.use(rewrite);
    },
  };
}

const proxy = {
  "/graphql": { target: backend, ws: true },
  "/media": { target: backend },
  "/health": { target: backend },
};

export default defineConfig({
  root,
  plugins: [svelte(), graphiqlPath()],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Monaco (GraphiQL) is large by nature; it is only loaded on the admin page.
    chunkSizeWarningLimit: 6000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // React libraries used by GraphiQL carry "use client" (RSC) directives: meaningless in a client bundle.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
      input: {
        main: `${root}/index.html`,
        graphiql: `${root}/graphiql.html`,
      },
    },
  },
  worker: { format: "es" },
});
