// Shared screen pieces: the page-level alert, confirmation dialogs, list
// states (loading / empty / error), the pager, titles.

import { h, $, clear } from "./dom.js";

// ---- page-level alert ([data-role="alert"]) ----

let pendingFlash = null;

function area() { return $('[data-role="alert"]'); }

/**
 * kind: "error" | "success" | "info". `target` is an alert area of its own
 * (see formAlert) for a message that belongs by a form rather than atop the page.
 */
export function showAlert(message, kind = "error", target = area()) {
  const el = target;
  el.className = ["alert-area", "alert-" + kind, el.dataset.scope === "form" && "form-alert"].filter(Boolean).join(" ");
  // Errors interrupt (role=alert); confirmations are polite.
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.replaceChildren(
    h("p", {}, message),
    h("button", {
      type: "button", class: "alert-close", "aria-label": "Dismiss message", dataset: { action: "dismiss-alert" },
      on: { click: () => clearAlert(el) },
    }, "×"),
  );
  el.hidden = false;
}

export function clearAlert(target = area()) {
  const el = target;
  el.hidden = true;
  el.replaceChildren();
}

/** An alert area that sits with a form (inside it, above its fields); filled by showAlert(…, target). */
export function formAlert() {
  return h("div", { class: "alert-area form-alert", dataset: { role: "alert", scope: "form" }, "aria-live": "polite", hidden: true });
}

/** A message for the next screen (e.g. "Patient archived" before going back to the list). */
export function flash(message, kind = "success") { pendingFlash = { message, kind }; }

/** Called by the app on each navigation. */
export function showFlash() {
  clearAlert();
  if (pendingFlash) {
    showAlert(pendingFlash.message, pendingFlash.kind);
    pendingFlash = null;
  }
}

/** Shows an ApiError (or any error) in the alert area. */
export function alertError(err, prefix, target) {
  const msg = err && err.message ? err.message : String(err);
  showAlert(prefix ? `${prefix} ${msg}` : msg, "error", target);
}

// ---- titles and headings ----

export function setTitle(text) {
  document.title = text ? `${text} · clinicdesk` : "clinicdesk";
}

/** The screen's header: h1 (focus target after navigation), optional subtitle and actions. */
export function pageHeader(title, { sub, actions = [] } = {}) {
  return h("div", { class: "page-header" },
    h("div", { class: "page-title" },
      h("h1", { tabindex: "-1" }, title),
      sub ? h("p", { class: "muted" }, sub) : null),
    actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

/** The whole screen when its record cannot be shown (403/404/network). */
export function errorScreen(el, err, { title, backHref, backLabel } = {}) {
  let heading = title || (err && err.title) || "Something went wrong";
  if (err && err.status === 404) heading = title || err.title || "Not found";
  if (err && err.status === 403) heading = "Not allowed";
  if (err && err.status === 0) heading = "Cannot reach clinicdesk";
  clear(el).append(
    h("section", { class: "state-panel", dataset: { state: "error" } },
      h("h1", { tabindex: "-1" }, heading),
      // The alert above carries the API's sentence; here, what to do next.
      h("p", {}, err && err.status === 404 ? "Check the address, or find the record from the list."
        : err && err.status === 403 ? "If you need this, ask your clinic's administrator."
        : err && err.status === 0 ? "Check that the clinicdesk server is running and reachable, then try again."
        : "Please try again. If it keeps happening, tell your administrator."),
      backHref ? h("p", {}, h("a", { href: backHref }, backLabel || "Back")) : null));
  alertError(err);
}

/** For a record fetch: a 404 gets a sentence naming what was not found. Use in .catch(). */
export function notFound(what) {
  return (err) => {
    if (err && err.status === 404) {
      err.message = `This ${what} does not exist, has been archived, or is not one your account can see.`;
      err.title = `${what[0].toUpperCase()}${what.slice(1)} not found`;
    }
    throw err;
  };
}

// ---- confirmation dialog ----

let dialogSeq = 0;

/** A modal <dialog>; resolves true when [data-action="confirm"] is chosen, false on Cancel/Esc. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const id = "dlg-title-" + ++dialogSeq;
    const cancel = h("button", { type: "submit", value: "cancel", class: "btn btn-quiet", dataset: { action: "cancel" } }, "Cancel");
    const ok = h("button", { type: "submit", value: "confirm", class: danger ? "btn btn-danger" : "btn", dataset: { action: "confirm" } }, confirmLabel);
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": id },
      h("form", { method: "dialog" },
        h("h2", { id }, title),
        message ? h("p", {}, message) : null,
        h("div", { class: "dialog-actions" }, cancel, ok)));
    const opener = document.activeElement;
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "confirm");
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(dlg);
    dlg.showModal();
    // Destructive actions start on Cancel so a stray Enter does no harm.
    (danger ? cancel : ok).focus();
  });
}

/** Closes any open dialog (e.g. on sign-out, so nothing stays on screen). */
export function closeDialogs() {
  for (const d of document.querySelectorAll("dialog")) d.remove();
}

// ---- lists ----

/**
 * A table with a header row; `columns`: [{ label, sort?: "field", invert?, class? }].
 * Returns { table, tbody, setHeaderSort(ordering) }.
 */
export function dataTable(listName, columns, { caption, onSort } = {}) {
  const tbody = h("tbody");
  const ths = columns.map((c) => {
    if (!c.sort || !onSort) return h("th", { scope: "col", class: c.class }, c.label);
    const btn = h("button", { type: "button", class: "sort-btn", dataset: { sort: c.sort }, on: { click: () => onSort(c.sort, !!c.invert) } }, c.label, h("span", { class: "sort-mark", "aria-hidden": "true" }));
    return h("th", { scope: "col", class: c.class, dataset: { sortField: c.sort, sortInvert: c.invert ? "1" : null } }, btn);
  });
  const table = h("table", { class: "data-table", dataset: { list: listName } },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, ths)),
    tbody);
  function setHeaderSort(ordering) {
    const field = (ordering || "").replace(/^-/, "");
    const desc = (ordering || "").startsWith("-");
    for (const th of table.querySelectorAll("th[data-sort-field]")) {
      const on = th.dataset.sortField === field;
      // An inverted column (age sorts by date of birth) shows the reverse direction.
      const shownDesc = th.dataset.sortInvert ? !desc : desc;
      if (on) th.setAttribute("aria-sort", shownDesc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
  }
  const wrap = h("div", { class: "table-wrap" }, table);
  return { table, wrap, tbody, setHeaderSort, cols: columns.length };
}

/** One full-width row in a table body: kind is loading | empty | error. */
export function stateRow(tbody, cols, kind, message, retry) {
  clear(tbody).append(
    h("tr", { class: "state-row", dataset: { state: kind } },
      h("td", { colspan: cols },
        h("span", { role: kind === "error" ? "alert" : "status" }, message),
        retry ? h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "retry" }, on: { click: retry } }, "Try again") : null)));
}

/** "1–25 of 132" and Previous/Next. onPage(n). */
export function pager({ page, pageSize, total, onPage }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const from = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const to = Math.min(total, page * pageSize);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("span", { class: "pager-info", dataset: { role: "count" } }, total === 0 ? "No results" : `${from}–${to} of ${total}`),
    // One page only: the count is enough.
    pages <= 1 ? null : h("span", { class: "pager-buttons" },
      h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "prev-page" }, disabled: page <= 1, on: { click: () => onPage(page - 1) } }, "‹ Previous"),
      h("span", { class: "pager-page" }, `Page ${Math.min(page, pages)} of ${pages}`),
      h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "next-page" }, disabled: page >= pages, on: { click: () => onPage(page + 1) } }, "Next ›")));
}

export function badge(text, kind = "neutral") {
  return h("span", { class: "badge badge-" + kind }, text);
}

// ---- files ----

/** Offers `blob` to the browser as a download named `filename` (an object URL and a temporary <a download>). */
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; the URL may go once the browser has read it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
