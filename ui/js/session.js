// The browser session. The refresh token never reaches this code: the server
// keeps it in an HttpOnly cookie scoped to /api/auth/session. We hold only
// the short-lived access token, in this module's memory — a reload forgets it
// and `restore()` asks the server for a new one with the cookie.

import * as api from "./api.js";

let access = null;
let user = null;
let refreshTimer = null;
let refreshDue = false;      // the token is due for renewal but the user has been idle
let inflight = null;         // one refresh at a time (a rotated cookie must not be presented twice)
const listeners = new Set();

// Tabs of the same browser share the cookie; tell each other about sign-in/out
// so one tab signing out clears the others too. Messages carry no data.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("clinicdesk-session") : null;

export const currentUser = () => user;
export const isSignedIn = () => access !== null;
export const role = () => user?.role || null;
export const isAdmin = () => user?.role === "admin";
/** Doctors: admin and staff write, `user` reads. */
export const canEditDoctors = () => user?.role === "admin" || user?.role === "staff";

/**
 * fn(user, reason) on every change: "login", "restore", "user", "password-required"
 * (the API asked for the temporary password to be replaced first), "logout:<why>".
 */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function emit(reason) {
  for (const fn of listeners) fn(user, reason);
}

api.configure({
  token: () => access,
  refresh: () => refresh().catch(() => false),
  expired: () => end("expired"),
  passwordRequired: () => {
    if (!user || user.must_change_password) return;
    user = { ...user, must_change_password: true };
    emit("password-required");
  },
});

function accept(session) {
  access = session.access;
  if (session.user) user = session.user;
  schedule(Number(session.expires_in) || 900);
}

// Renew a minute before expiry (half-way for very short tokens), but only for
// a user who is active: an idle session is left to run out (idle.js ends it).
function schedule(expiresIn) {
  clearTimeout(refreshTimer);
  refreshDue = false;
  const at = Math.max(5, Math.max(expiresIn / 2, expiresIn - 60));
  const issued = Date.now();
  refreshTimer = setTimeout(() => {
    if (lastActivity() > issued) refresh().catch(() => {});
    else refreshDue = true;
  }, at * 1000);
}

let lastActivity = () => Date.now();
/** idle.js tells us when the user last did something. */
export function setActivitySource(fn) { lastActivity = fn; }
/** Called on user activity: catch up on a renewal skipped while idle. */
export function touch() {
  if (refreshDue && access) {
    refreshDue = false;
    refresh().catch(() => {});
  }
}

// Web Locks serialise refreshes across tabs (only in secure contexts such as
// localhost or HTTPS; on plain-HTTP LAN addresses we do without).
function withLock(fn) {
  return navigator.locks ? navigator.locks.request("clinicdesk-refresh", fn) : fn();
}

/** New access token from the cookie. true/false; throws on network trouble. */
export function refresh() {
  if (!inflight) {
    inflight = withLock(async () => {
      try {
        const r = await api.request("POST", "/api/auth/session/refresh/", { auth: false });
        accept(r.data);
        if (!user) user = await api.get("/api/auth/me/");
        return true;
      } catch (err) {
        if (err.status === 401 || err.status === 400) return false;
        throw err;
      }
    }).finally(() => { inflight = null; });
  }
  return inflight;
}

/** At page load: a reload keeps the session. */
export async function restore() {
  const ok = await refresh();
  if (ok) emit("restore");
  return ok;
}

/** `login` may be an email or a username. Throws ApiError (401, 429, 400). */
export async function login(login, password) {
  const body = login.includes("@") ? { email: login, password } : { username: login, password };
  const r = await api.request("POST", "/api/auth/session/", { auth: false, body });
  accept(r.data);
  if (!user) user = await api.get("/api/auth/me/");
  emit("login");
  channel?.postMessage({ type: "login" });
}

/** Updates the cached user (after "my account" changes). */
export function setUser(u) {
  user = u;
  emit("user");
}

function clearLocal() {
  access = null;
  user = null;
  refreshDue = false;
  clearTimeout(refreshTimer);
}

/** Ends the session here and on the server. reason: manual | idle | password | expired. */
export async function logout(reason = "manual") {
  clearLocal();
  emit("logout:" + reason);  // clear the screen first, then tell the server
  channel?.postMessage({ type: "logout" });
  try {
    await api.request("POST", "/api/auth/session/logout/", { auth: false });
  } catch {
    // Already gone server-side (or the server is unreachable): nothing to add.
  }
}

function end(reason) {
  if (!access && !user) return;
  clearLocal();
  emit("logout:" + reason);
}

channel?.addEventListener("message", (e) => {
  const type = e.data && e.data.type;
  if (type === "logout") end("other-tab");
  else if (type === "login" && !access) restore().catch(() => {});
});

export function broadcastActivity() {
  channel?.postMessage({ type: "activity" });
}
export function onRemoteActivity(fn) {
  channel?.addEventListener("message", (e) => { if (e.data && e.data.type === "activity") fn(); });
}
