import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { Link, Route, Switch } from "wouter";
import { ConnectionStatus } from "./connection_status.tsx";
import { DashboardPage } from "./dashboard_page.tsx";
import { LiveEventsProvider, useConnectionState } from "./live_events.tsx";
import { ui } from "./styles.ts";
import { TaskPage } from "./task_page.tsx";
import { ThemeToggle } from "./theme_toggle.tsx";
import { useTheme } from "./theme.ts";
import { trpc } from "./trpc.ts";
import { createTrpcClient, type TrpcClientOptions } from "./trpc_client.ts";

/** A React Query client for the dashboard: data is refreshed by live events, never on a timer or focus. */
export function createDashboardQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: Infinity,
        refetchOnWindowFocus: false,
        retry: 3,
        retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 8000),
      },
      mutations: { retry: false },
    },
  });
}

function Header() {
  const [theme, setTheme] = useTheme();
  const connection = useConnectionState();
  return (
    <header className="sticky top-0 z-20 border-b border-zinc-200 bg-white/90 backdrop-blur dark:border-zinc-800 dark:bg-zinc-950/90">
      <div className="mx-auto flex max-w-screen-2xl items-center justify-between gap-3 px-4 py-2.5">
        <Link href="/" className={`flex items-center gap-2 text-lg font-bold tracking-tight text-zinc-900 dark:text-zinc-50 ${ui.link} no-underline hover:no-underline`}>
          <svg aria-hidden="true" viewBox="0 0 24 24" className="h-6 w-6 text-indigo-600 dark:text-indigo-400" fill="none" stroke="currentColor" strokeWidth={2}>
            <rect x="3" y="4" width="18" height="16" rx="3" />
            <path d="M7 9h6M7 13h10M7 17h4" strokeLinecap="round" />
          </svg>
          TaskMaster
        </Link>
        <div className="flex items-center gap-2">
          <ConnectionStatus state={connection} />
          <ThemeToggle theme={theme} onChange={setTheme} />
        </div>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <div className="space-y-2">
      <h1 className="text-xl font-semibold">Page not found</h1>
      <Link href="/" className={ui.link}>
        Back to the dashboard
      </Link>
    </div>
  );
}

/** The whole dashboard: providers, live feeds, header and routes (`/`, `/tasks/:id`). */
export function App({ trpcOptions }: { trpcOptions?: TrpcClientOptions } = {}) {
  const [queryClient] = useState(createDashboardQueryClient);
  const [trpcClient] = useState(() => createTrpcClient(trpcOptions));
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <LiveEventsProvider>
          <a href="#main" className="sr-only rounded bg-indigo-600 px-3 py-2 text-white focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50">
            Skip to content
          </a>
          <Header />
          <main id="main" tabIndex={-1} className="mx-auto max-w-screen-2xl px-4 py-4 outline-none">
            <Switch>
              <Route path="/">
                <DashboardPage />
              </Route>
              <Route path="/tasks/:id">{(params) => <TaskPage id={params.id} />}</Route>
              <Route>
                <NotFound />
              </Route>
            </Switch>
          </main>
        </LiveEventsProvider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}
