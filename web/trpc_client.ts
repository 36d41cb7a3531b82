import { httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { trpc } from "./trpc.ts";

/** Options for {@linkcode createTrpcClient}. */
export interface TrpcClientOptions {
  /** Where tRPC is served. Default `"/trpc"` (same origin: the server on :8081, or Vite's proxy on :5173). */
  url?: string;
}

/**
 * The dashboard's tRPC client: subscriptions over SSE (`httpSubscriptionLink`, which resumes from the
 * last tracked event id when the connection comes back), queries and mutations batched over HTTP.
 */
export function createTrpcClient(options: TrpcClientOptions = {}): ReturnType<typeof trpc.createClient> {
  const url = options.url ?? "/trpc";
  return trpc.createClient({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url }),
        false: httpBatchLink({ url, maxURLLength: 4000 }),
      }),
    ],
  });
}
