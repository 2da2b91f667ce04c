// GraphiQL for admins, fully bundled (Monaco workers included): nothing is loaded from a CDN.
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "./page.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { createClient } from "graphql-ws";

const wsProto = window.location.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  // Session cookie travels with every request.
  fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
  wsClient: createClient({ url: `${wsProto}//${window.location.host}/graphql`, lazy: true }),
});

const DEFAULT_QUERY = `# VEV-IQ GraphQL API
query Me {
  me {
    id
    email
    role
  }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  createElement(GraphiQL, { fetcher, defaultQuery: DEFAULT_QUERY, defaultEditorToolsVisibility: false }),
);
