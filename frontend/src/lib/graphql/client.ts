import {
  Client,
  cacheExchange,
  fetchExchange,
  subscriptionExchange,
  type AnyVariables,
  type DocumentInput,
  type OperationResult,
} from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";

/** Same-origin GraphQL endpoint, HTTP and WebSocket. */
export const GRAPHQL_PATH = "/graphql";

export function wsUrl(path = GRAPHQL_PATH): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${path}`;
}

// Lazy: the socket opens only when the first subscription starts.
const wsClient = createWsClient({ url: wsUrl(), lazy: true, retryAttempts: 5 });

export const client = new Client({
  url: GRAPHQL_PATH,
  // The session is an HttpOnly cookie set by the server on logIn.
  fetchOptions: () => ({ credentials: "same-origin" }),
  // Pages fetch fresh data; the document cache only dedupes in-flight requests.
  requestPolicy: "network-only",
  // Always POST with a JSON body (urql would otherwise send short queries as GET).
  preferGetMethod: false,
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query || "" };
        return {
          subscribe(sink) {
            const unsubscribe = wsClient.subscribe(input, sink);
            return { unsubscribe };
          },
        };
      },
    }),
  ],
});

export function query<Data = any, Vars extends AnyVariables = AnyVariables>(
  doc: DocumentInput<Data, Vars>,
  variables?: Vars,
): Promise<OperationResult<Data, Vars>> {
  return client.query(doc, (variables ?? {}) as Vars).toPromise();
}

export function mutate<Data = any, Vars extends AnyVariables = AnyVariables>(
  doc: DocumentInput<Data, Vars>,
  variables?: Vars,
): Promise<OperationResult<Data, Vars>> {
  return client.mutation(doc, (variables ?? {}) as Vars).toPromise();
}
