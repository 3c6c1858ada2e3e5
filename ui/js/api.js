// Every call to the clinicdesk API goes through `request()`: it adds the
// in-memory access token, turns the API's one error shape into an ApiError,
// and — if the token turned out to be expired — refreshes once and retries.

export class ApiError extends Error {
  constructor(status, body, headers) {
    const b = body && typeof body === "object" ? body : {};
    super(b.detail || defaultMessage(status));
    this.status = status;
    this.code = b.code || (status === 0 ? "network" : "http_" + status);
    this.errors = b.errors || null;
    // The whole answer: an import's 400 is its report (the rows refused).
    this.body = b;
    // A 409 slot_taken names the bookings it clashes with.
    this.conflicts = Array.isArray(b.conflicts) ? b.conflicts : null;
    this.retryAfter = headers ? Number(headers.get("Retry-After")) || null : null;
  }
}

function defaultMessage(status) {
  if (status === 0) return "Could not reach clinicdesk. Check the network connection and that the server is running.";
  if (status === 403) return "You do not have permission to do that.";
  if (status === 404) return "This record does not exist, or you do not have access to it.";
  if (status >= 500) return "clinicdesk had an internal problem. Please try again; if it keeps happening, tell your administrator.";
  return `The request failed (HTTP ${status}).`;
}

// Set by session.js; kept as hooks so api.js does not import session.js (no cycle).
const hooks = {
  token: () => null,
  refresh: async () => false,
  expired: () => {},
  passwordRequired: () => {},
};
export function configure(h) { Object.assign(hooks, h); }

function queryString(query) {
  if (!query) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? "?" + s : "";
}

/**
 * request("GET", "/api/patients/", { query, body, signal, auth, blob })
 * → { data, headers, status }; throws ApiError (or the AbortError of `signal`).
 * With `blob: true` a successful answer's `data` is its body as a Blob (files such as CSV).
 * With `upload` (a File or Blob) that file is the body, sent as `text/csv` byte for byte
 * (the server judges its encoding).
 */
export async function request(method, path, opts = {}) {
  const { body, query, signal, auth = true, blob = false, upload, retried = false } = opts;
  const headers = { Accept: blob ? "*/*" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (upload !== undefined) headers["Content-Type"] = "text/csv";
  const token = auth ? hooks.token() : null;
  if (token) headers.Authorization = "Bearer " + token;
  let res;
  try {
    res = await fetch(path + queryString(query), {
      method,
      headers,
      body: upload !== undefined ? upload : body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  if (res.status === 401 && token && !retried) {
    // The access token expired or was revoked: one refresh, one retry.
    if (await hooks.refresh()) return request(method, path, { ...opts, retried: true });
    hooks.expired();
  }
  if (res.ok && blob) return { data: await res.blob(), headers: res.headers, status: res.status };
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 403 && data && data.code === "password_change_required") hooks.passwordRequired();
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return { data, headers: res.headers, status: res.status };
}

export const get = (path, opts) => request("GET", path, opts).then((r) => r.data);
export const post = (path, body, opts) => request("POST", path, { ...opts, body: body ?? {} }).then((r) => r.data);
export const put = (path, body, opts) => request("PUT", path, { ...opts, body }).then((r) => r.data);
export const patch = (path, body, opts) => request("PATCH", path, { ...opts, body }).then((r) => r.data);
export const del = (path, opts) => request("DELETE", path, opts).then((r) => r.data);

/** A page of a list route: { items, total } (total from X-Total-Count). */
export async function list(path, query, opts = {}) {
  const r = await request("GET", path, { ...opts, query });
  const total = Number(r.headers.get("X-Total-Count"));
  return { items: r.data || [], total: Number.isFinite(total) ? total : (r.data || []).length };
}

/** Every item of a list route, following pages (for small lists such as doctors in a select). */
export async function all(path, query = {}, opts = {}) {
  const items = [];
  for (let page = 1; page <= 20; page++) {
    const r = await list(path, { ...query, page, page_size: 500 }, opts);
    items.push(...r.items);
    if (items.length >= r.total || r.items.length === 0) break;
  }
  return items;
}

/**
 * A file from the API (such as a CSV export): { blob, filename }. The name comes
 * from Content-Disposition, else `fallbackName`. Fetched with the in-memory token,
 * so a file route never needs a token in its URL.
 */
export async function file(path, query, fallbackName, opts = {}) {
  const r = await request("GET", path, { ...opts, query, blob: true });
  const disposition = r.headers.get("Content-Disposition") || "";
  const named = /filename="?([^";]+)"?/i.exec(disposition);
  return { blob: r.data, filename: named ? named[1] : fallbackName };
}
