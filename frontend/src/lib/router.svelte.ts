/** A tiny history router: state in runes, links intercepted globally. */

export const PUBLIC_ROUTES = ["/login", "/privacy", "/pricing", "/signup", "/verify-email", "/forgot-password", "/reset-password"];

/** Paths that the backend serves itself: never handled client-side. */
const EXTERNAL_PREFIXES = ["/graphiql", "/graphql", "/media", "/health", "/export"];

class Router {
  path = $state(window.location.pathname);
  search = $state(window.location.search);
  query = $derived(new URLSearchParams(this.search));

  constructor() {
    window.addEventListener("popstate", () => this.sync());
  }

  private sync() {
    this.path = window.location.pathname;
    this.search = window.location.search;
  }

  navigate(to: string, { replace = false } = {}) {
    const url = new URL(to, window.location.origin);
    if (url.pathname + url.search === window.location.pathname + window.location.search) return;
    if (replace) history.replaceState({}, "", url);
    else history.pushState({}, "", url);
    this.sync();
    window.scrollTo(0, 0);
  }

  isPublic(path = this.path): boolean {
    return PUBLIC_ROUTES.includes(path);
  }
}

export const router = new Router();

/** Match "/sites/:id" style patterns; returns params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

/** Intercept clicks on same-origin <a href> so navigation stays in the SPA. */
export function interceptLinks(event: MouseEvent) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || !anchor.href || anchor.target || anchor.hasAttribute("download")) return;
  if (anchor.dataset.external !== undefined) return;
  const url = new URL(anchor.href);
  if (url.origin !== window.location.origin) return;
  // In-page anchors (skip link): let the browser scroll/focus.
  if (url.hash && url.pathname === window.location.pathname && url.search === window.location.search) return;
  if (EXTERNAL_PREFIXES.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`) || url.pathname.startsWith(`${p}.`))) return;
  event.preventDefault();
  router.navigate(url.pathname + url.search + url.hash);
}
