// Entry point: the app shell (navigation, who is signed in, sign-out), the
// route table, and what happens on sign-in/sign-out. Screens live in views/.

import { h, $, $$, clear } from "./dom.js";
import * as router from "./router.js";
import * as session from "./session.js";
import { isStale } from "./views/backups.js";
import * as api from "./api.js";
import * as idle from "./idle.js";
import * as store from "./store.js";
import { showFlash, flash, errorScreen, setTitle, closeDialogs, clearAlert, showAlert } from "./ui.js";
import { roleLabel } from "./fmt.js";
import { isInsecure } from "./insecure.js";
import * as clinic from "./clinic.js";

import loginView from "./views/login.js";
import registerView from "./views/register.js";
import setupView from "./views/setup.js";
import * as patients from "./views/patients.js";
import patientPage from "./views/patient.js";
import patientForm from "./views/patient-form.js";
import * as doctors from "./views/doctors.js";
import doctorPage from "./views/doctor.js";
import doctorForm from "./views/doctor-form.js";
import usersView from "./views/users.js";
import settingsView from "./views/settings.js";
import accountView from "./views/account.js";
import auditView from "./views/audit.js";
import backupsView from "./views/backups.js";
import passwordRequiredView from "./views/password-required.js";
import todayView from "./views/today.js";
import daySheet from "./views/day-sheet.js";
import bookView from "./views/book.js";
import duplicatesView from "./views/duplicates.js";
import importView from "./views/import.js";

const STAFF = ["admin", "staff"];
const ADMIN = ["admin"];

/**
 * The home screen (`/` and the brand link): the day's board for the front
 * desk (staff, admin) and for a doctor's own account; a `user` (who sees only
 * the patients they added) keeps those patients.
 */
function home(user) {
  return user && (STAFF.includes(user.role) || user.doctor) ? "/today" : "/patients";
}

/** Where signing in leads when no page was asked for: the home screen. */
function landing(user) {
  return home(user);
}

// public: reachable signed out. roles: who may open it (others see "not allowed").
// redirect: a path, or a function of the signed-in user.
router.define([
  { path: "/", redirect: home },
  { path: "/today", view: todayView, nav: "today" },
  { path: "/today/print", view: daySheet, nav: "today" },
  { path: "/book", view: bookView, nav: "book" },
  { path: "/login", view: loginView, public: true, guestOnly: true },
  { path: "/register", view: registerView, public: true, guestOnly: true },
  { path: "/setup", view: setupView, public: true },
  { path: "/patients", view: patients.list, nav: "patients" },
  { path: "/patients/new", view: patientForm, nav: "patients" },
  { path: "/patients/archived", view: patients.archived, nav: "patients", roles: ADMIN },
  { path: "/patients/:id", view: patientPage, nav: "patients" },
  { path: "/patients/:id/edit", view: patientForm, nav: "patients" },
  { path: "/duplicates", view: duplicatesView, nav: "duplicates", roles: STAFF },
  { path: "/import", view: importView, nav: "import", roles: STAFF },
  { path: "/doctors", view: doctors.list, nav: "doctors" },
  { path: "/doctors/new", view: doctorForm, nav: "doctors", roles: STAFF },
  { path: "/doctors/archived", view: doctors.archived, nav: "doctors", roles: ADMIN },
  { path: "/doctors/:id", view: doctorPage, nav: "doctors" },
  { path: "/doctors/:id/edit", view: doctorForm, nav: "doctors", roles: STAFF },
  { path: "/users", view: usersView, nav: "users", roles: ADMIN },
  { path: "/settings", view: settingsView, nav: "settings", roles: ADMIN },
  { path: "/account", view: accountView, nav: "account" },
  { path: "/audit", view: auditView, nav: "audit", roles: ADMIN },
  { path: "/backups", view: backupsView, nav: "backups", roles: ADMIN },
  // The only screen while an admin-set temporary password is still in use.
  { path: "/password", view: passwordRequiredView, passwordChange: true },
]);

const viewEl = () => $("#view");
let current = null;     // AbortController of the screen on show
let afterLogin = null;  // where a signed-out visitor wanted to go
let afterPassword = null;  // where someone who must first choose a new password wanted to go

function updateShell(activeNav) {
  const user = session.currentUser();
  const bar = $(".topbar");
  bar.hidden = !user;
  // A new screen folds the phone menu away again.
  setMenu(false);
  // A temporary password unlocks nothing but choosing a new one (and signing out).
  $(".mainnav", bar).hidden = !!user?.must_change_password;
  for (const li of $$("[data-needs-role]", bar)) {
    li.hidden = !user || !li.dataset.needsRole.split(" ").includes(user.role);
  }
  for (const a of $$("[data-nav]", bar)) {
    if (a.dataset.nav === activeNav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const who = $('[data-role="whoami"]');
  clear(who);
  if (user) {
    who.append(h("span", { class: "who-name" }, user.name || user.username || user.email),
      " ", h("span", { class: "badge badge-role" }, roleLabel(user.role)));
    who.title = user.email || "";
  }
}

async function render() {
  if (current) current.abort();
  const ctrl = new AbortController();
  current = ctrl;
  closeDialogs();

  const found = router.match(location.pathname);
  const user = session.currentUser();
  if (found && found.route.redirect) {
    const to = typeof found.route.redirect === "function" ? found.route.redirect(user) : found.route.redirect;
    return router.navigate(user ? to : "/login", { replace: true });
  }
  if (found && !found.route.public && !user) {
    afterLogin = location.pathname + location.search;
    return router.navigate("/login", { replace: true });
  }
  if (found && found.route.guestOnly && user) return router.navigate(landing(user), { replace: true });
  if (user && user.must_change_password && !(found && found.route.passwordChange)) {
    afterPassword = location.pathname + location.search;
    return router.navigate("/password", { replace: true });
  }
  if (found && found.route.passwordChange && !user.must_change_password) return router.navigate(landing(user), { replace: true });
  const next = found && found.route.passwordChange ? afterPassword || landing(user) : null;
  if (next) afterPassword = null;

  // Dates on the screen follow the clinic's format, so it is known first.
  if (user) await clinic.ready();
  if (ctrl.signal.aborted) return;
  updateShell(found && found.route.nav);
  showFlash();
  const el = clear(viewEl());
  el.className = "";
  window.scrollTo(0, 0);
  const ctx = {
    params: found ? found.params : {}, signal: ctrl.signal, query: new URLSearchParams(location.search), user,
    next,
  };

  if (!found) {
    setTitle("Not found");
    errorScreen(el, { status: 404, message: "There is no page at this address." }, { backHref: "/patients", backLabel: "Go to patients" });
    return focusScreen(el);
  }
  if (found.route.roles && !found.route.roles.includes(user.role)) {
    setTitle("Not allowed");
    errorScreen(el, { status: 403, message: "Your account does not have access to this page." }, { backHref: "/patients", backLabel: "Go to patients" });
    return focusScreen(el);
  }
  try {
    await found.route.view(el, ctx);
  } catch (err) {
    if (err && err.name === "AbortError") return;
    if (ctrl.signal.aborted) return;
    const section = found.route.nav || "patients";
    errorScreen(el, err, { backHref: "/" + section, backLabel: "Back to " + section });
  }
  if (ctrl.signal.aborted) return;
  focusScreen(el);
}

// Move focus to the new screen's heading (keyboard and screen-reader users
// start there), unless the screen already focused something itself.
function focusScreen(el) {
  if (!el.contains(document.activeElement)) {
    const target = el.querySelector("[autofocus]") || el.querySelector("h1");
    if (target) target.focus({ preventScroll: true });
  }
}

/** After sign-in: go where the visitor was heading, else where the account lands. */
function enterApp() {
  const to = afterLogin && !afterLogin.startsWith("/login") ? afterLogin : landing(session.currentUser());
  afterLogin = null;
  router.navigate(to, { replace: true });
}

const LOGOUT_MESSAGES = {
  manual: ["You are signed out.", "info"],
  idle: ["You were signed out after 15 minutes without activity.", "info"],
  expired: ["Your session has ended. Please sign in again.", "info"],
  password: ["Password changed. Please sign in with your new password.", "success"],
  "other-tab": ["You signed out in another tab.", "info"],
};

/** After an admin signs in: a warning on the first screen when there is no good backup from the last day. */
async function warnAboutBackups() {
  try {
    const status = await api.get("/api/admin/backups/status");
    // The first screen has been entered by now (its navigation cleared the alert area).
    if (isStale(status) && session.isAdmin()) {
      showAlert("There is no good backup from the last 24 hours. See Backups.", "error");
    }
  } catch {
    // The Settings screen shows the details; a failed check must not block signing in.
  }
}

session.onChange((user, reason) => {
  if (reason === "login" || reason === "restore") {
    // A temporary password unlocks nothing else: the clinic is read once it is replaced ("user").
    if (!user.must_change_password) clinic.load();
    idle.start(() => session.logout("idle"));
    // Not in the first-run setup: a new clinic has no backup yet, and its
    // welcome message must not be replaced by a warning.
    if (session.isAdmin() && reason === "login" && location.pathname !== "/setup" && !user.must_change_password) warnAboutBackups();
    // Signed in on the login/register screen (or in another tab): into the app.
    const found = router.match(location.pathname);
    if (found && found.route.guestOnly) enterApp();
  } else if (reason === "user") {
    // After a temporary password was replaced, the clinic is read for the first time.
    if (user && !user.must_change_password && !clinic.loaded()) clinic.load();
    updateShell($("[data-nav][aria-current]")?.dataset.nav);
  } else if (reason === "password-required") {
    // The API refused a call until the temporary password is replaced.
    router.reload();
  } else if (reason.startsWith("logout:")) {
    // Clear the screen at once: nothing with patient data may stay visible.
    idle.stop();
    if (current) current.abort();
    closeDialogs();
    clear(viewEl());
    clearAlert();
    store.resetAll();
    clinic.reset();
    afterPassword = null;
    updateShell(null);
    const [msg, kind] = LOGOUT_MESSAGES[reason.slice(7)] || LOGOUT_MESSAGES.expired;
    flash(msg, kind);
    if (location.pathname !== "/setup") {
      // Only an expired session returns to where it was; after a deliberate sign-out
      // the next person starts where their account lands.
      afterLogin = reason === "logout:expired" ? location.pathname + location.search : null;
      router.navigate("/login", { replace: location.pathname === "/login" });
    }
  }
});

/** Opens or folds the main menu (only folded on a narrow screen, see style.css). */
function setMenu(open) {
  $(".topbar").classList.toggle("menu-open", open);
  $('[data-action="menu"]').setAttribute("aria-expanded", String(open));
}

$('[data-action="menu"]').addEventListener("click", () => setMenu(!$(".topbar").classList.contains("menu-open")));
$('[data-action="logout"]').addEventListener("click", () => session.logout("manual"));
// Any click is activity already; the button only has to hide the warning.
$('[data-action="stay-signed-in"]').addEventListener("click", () => { $('[data-role="idle-warning"]').hidden = true; });

async function boot() {
  $('[data-role="insecure-warning"]').hidden = !isInsecure(location);
  try {
    // A reload keeps the session: the cookie gets us a fresh access token.
    await session.restore();
  } catch (err) {
    // The server could not be reached; show it rather than a login form that cannot work.
    const el = viewEl();
    errorScreen(el, err, {});
    el.append(h("p", {}, h("button", { type: "button", class: "btn", on: { click: () => location.reload() } }, "Try again")));
    return;
  }
  router.start(render);
}

boot();
