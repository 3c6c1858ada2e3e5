// Client-side routing on real paths (/patients/12). The server answers every
// extension-less path with index.html, so reloads and bookmarks work.

let routes = [];
let handler = () => {};

/** [{ path: "/patients/:id", ...anything }] — first match wins. */
export function define(list) {
  routes = list.map((r) => ({
    ...r,
    re: new RegExp("^" + r.path.replace(/:(\w+)/g, "(?<$1>[^/]+)") + "/?$"),
  }));
}

export function match(pathname) {
  for (const route of routes) {
    const m = route.re.exec(pathname);
    if (m) return { route, params: { ...m.groups } };
  }
  return null;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else if (path !== location.pathname + location.search + location.hash) history.pushState(null, "", path);
  handler();
}

/** Re-renders the current path (after sign-in, for example). */
export function reload() { handler(); }

export function start(fn) {
  handler = fn;
  addEventListener("popstate", () => handler());
  // Same-origin links become in-app navigations (except /api, new tabs, downloads).
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api")) return;
    if (url.pathname === location.pathname && url.hash && !url.search) return; // in-page anchor
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  handler();
}
