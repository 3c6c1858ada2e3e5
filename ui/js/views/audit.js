// The audit trail (admin): who did what to which record, when and from where,
// newest first, with filters, paging and a CSV export.
//
// Unlike the other lists, the filters live in the address (/audit?entity=patient&entity_id=12)
// so a view of the trail can be linked, e.g. from a patient's page. They are ids,
// dates and action names: never a patient's name or any other record data.
//
// Searches are hidden by default ("Hide searches", sent as exclude_action=search):
// every list, lookup and screen of the trail itself is one, and they bury the
// changes and views. A filter rather than folding runs of searches into one row,
// so paging, the count and the CSV export stay exact. The records' names come
// from /api/audit/names when a page is shown; the trail stores only ids.

import { h, debounce } from "../dom.js";
import * as api from "../api.js";
import { field, showErrors, clearErrors } from "../forms.js";
import { PAGE_SIZE } from "../listview.js";
import { pageHeader, setTitle, dataTable, stateRow, pager, showAlert, alertError, saveFile, badge } from "../ui.js";
import { DASH, parseDay, text, roleLabel, dateTime } from "../fmt.js";

export const ACTIONS = [
  ["create", "Create"], ["update", "Update"], ["archive", "Archive"], ["restore", "Restore"],
  ["delete", "Delete"], ["view", "View"], ["search", "Search"], ["export", "Export"],
  ["login", "Sign-in"], ["login_failed", "Failed sign-in"], ["throttle", "Sign-in delay"], ["lockout", "Lockout (old)"], ["unlock", "Sign-in delay cleared"],
  ["logout", "Sign-out"], ["password_change", "Password change"], ["role_change", "Role change"],
  ["user_deactivate", "Account deactivated"], ["token_reuse", "Token reuse"], ["setup", "Setup"],
  ["setting_change", "Setting change"], ["denied", "Denied"], ["backup", "Backup"],
];

const ENTITIES = [
  ["patient", "Patient"], ["doctor", "Doctor"], ["mapping", "Assignment"], ["user", "Account"],
  ["setting", "Setting"], ["backup", "Backup"], ["audit", "Audit trail"],
];

/** The filters, in the order of the address and of the API's query. */
const KEYS = ["entity", "entity_id", "user_id", "action", "from", "to"];

const COLUMNS = [
  { label: "Time" }, { label: "Who" }, { label: "Action" }, { label: "Record" },
  { label: "Outcome" }, { label: "Client IP" }, { label: "Fields" },
];

const labelOf = (pairs, value) => (pairs.find(([v]) => v === value) || [value, value])[1];

const when = (at) => dateTime(at, { seconds: true });

/** Which entity's names /api/audit/names answers, by the trail's entity name. */
const NAMED = { patient: "patients", doctor: "doctors", user: "users" };

function record(e, recordNames) {
  if (!e.entity) return DASH;
  const kind = labelOf(ENTITIES, e.entity);
  if (e.entity_id === null || e.entity_id === undefined) return kind;
  const href = e.entity === "patient" ? `/patients/${e.entity_id}` : e.entity === "doctor" ? `/doctors/${e.entity_id}` : null;
  const label = `${kind} #${e.entity_id}`;
  const name = NAMED[e.entity] && recordNames[NAMED[e.entity]]?.[String(e.entity_id)];
  return [href ? h("a", { href }, label) : label,
    name ? h("span", { class: "cell-sub", dataset: { role: "record-name" } }, name) : null];
}

/** The names of the patients, doctors and accounts `items` point at (admins only; {} if the lookup fails). */
async function lookUpNames(items, signal) {
  const wanted = { patients: new Set(), doctors: new Set(), users: new Set() };
  for (const e of items) {
    if (NAMED[e.entity] && e.entity_id) wanted[NAMED[e.entity]].add(e.entity_id);
  }
  const query = {};
  for (const [kind, ids] of Object.entries(wanted)) if (ids.size) query[kind] = [...ids].join(",");
  if (!Object.keys(query).length) return {};
  try {
    return await api.get("/api/audit/names", { signal, query });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    return {};
  }
}

function row(e, names, recordNames) {
  const actor = e.actor_id === null || e.actor_id === undefined ? DASH : names.get(e.actor_id) || `#${e.actor_id}`;
  return h("tr", { dataset: { id: e.id } },
    h("td", { class: "nowrap", dataset: { col: "time" } }, h("time", { datetime: e.at, title: e.at }, when(e.at))),
    h("td", { dataset: { col: "actor", value: e.actor_id ?? "" } }, actor,
      e.actor_role ? h("span", { class: "cell-sub" }, roleLabel(e.actor_role)) : null),
    h("td", { dataset: { col: "action", value: e.action } }, labelOf(ACTIONS, e.action)),
    h("td", { class: "nowrap", dataset: { col: "record" } }, record(e, recordNames)),
    h("td", { dataset: { col: "outcome", value: e.outcome } },
      e.outcome === "success" ? badge("Success", "ok") : badge("Failure", "warn")),
    h("td", { class: "nowrap", dataset: { col: "client_ip" } }, text(e.client_ip)),
    h("td", { dataset: { col: "fields" } }, e.fields && e.fields.length ? e.fields.join(", ") : DASH));
}

export default async function auditView(el, ctx) {
  setTitle("Audit trail");
  const state = { page: Math.max(1, Number(ctx.query.get("page")) || 1) };
  for (const k of KEYS) state[k] = (ctx.query.get(k) || "").trim();
  state.searches = ctx.query.get("searches") === "shown";

  // Names for the "Who" column and the account filter; the trail itself holds only ids.
  let accounts = [];
  try {
    accounts = await api.all("/api/users/", {}, { signal: ctx.signal });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
  }
  const names = new Map(accounts.map((u) => [u.id, u.name || u.username || u.email]));
  const accountOptions = accounts.map((u) => [String(u.id), u.name ? `${u.name} (${u.email})` : u.email]);
  if (state.user_id && !names.has(Number(state.user_id))) accountOptions.push([state.user_id, `#${state.user_id}`]);

  const specs = [
    { name: "entity", label: "Record type", type: "select", options: [["", "Any"], ...ENTITIES] },
    { name: "entity_id", label: "Record id", type: "number", min: "1", step: "1", inputmode: "numeric", autocomplete: "off", class: "narrow" },
    { name: "user_id", label: "Who", type: "select", options: [["", "Anyone"], ...accountOptions] },
    { name: "action", label: "Action", type: "select", options: [["", "Any"], ...ACTIONS] },
    { name: "from", label: "From", type: "day" },
    { name: "to", label: "To", type: "day" },
  ].map((s) => ({ ...s, value: state[s.name] }));
  specs.push({ name: "hide_searches", label: "Hide searches", type: "checkbox", value: !state.searches,
    hint: "Lists and lookups, including opening this screen." });

  const clearBtn = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "clear-filters" } }, "Clear");
  const form = h("form", { class: "filters", role: "search", "aria-label": "Audit trail filters", dataset: { form: "audit-filter" } },
    specs.map(field), h("div", { class: "filter-actions" }, clearBtn));
  form.noValidate = true;

  const exportBtn = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "export-audit" } }, "Export CSV");
  const table = dataTable("audit", COLUMNS, { caption: "Audit trail" });
  const pagerBox = h("div", { class: "pager-box" });
  const announce = h("p", { class: "visually-hidden", role: "status" });
  el.append(
    pageHeader("Audit trail", {
      sub: "Every change, view, search and sign-in, newest first. Field names only: values are never recorded.",
      actions: [exportBtn],
    }),
    form, announce, table.wrap, pagerBox);

  const filters = () => {
    const q = {};
    for (const k of KEYS) if (state[k]) q[k] = state[k];
    // Asking for searches by action shows them whatever the box says.
    if (!state.searches && state.action !== "search") q.exclude_action = "search";
    return q;
  };
  // The address mirrors the filters (replaced, not pushed: Back leaves the screen).
  const syncAddress = () => {
    const q = new URLSearchParams();
    for (const k of KEYS) if (state[k]) q.set(k, state[k]);
    if (state.searches) q.set("searches", "shown");
    if (state.page > 1) q.set("page", String(state.page));
    const s = q.toString();
    history.replaceState(null, "", "/audit" + (s ? "?" + s : ""));
  };

  const read = () => {
    for (const k of KEYS) {
      const typed = form.elements.namedItem(k).value.trim();
      // Days are typed in the clinic's date format and asked for as YYYY-MM-DD.
      state[k] = (k === "from" || k === "to") ? parseDay(typed) ?? typed : typed;
    }
    state.searches = !form.elements.namedItem("hide_searches").checked;
  };
  const apply = () => { read(); state.page = 1; load(); };
  const typed = debounce(apply, 300);
  form.addEventListener("input", (e) => { if (e.target.type === "number") typed(); });
  form.addEventListener("change", (e) => { if (e.target.type !== "number") { typed.cancel(); apply(); } });
  form.addEventListener("submit", (e) => { e.preventDefault(); typed.cancel(); apply(); });
  clearBtn.addEventListener("click", () => {
    for (const k of KEYS) form.elements.namedItem(k).value = "";
    form.elements.namedItem("hide_searches").checked = true;
    typed.cancel();
    apply();
  });

  exportBtn.addEventListener("click", async () => {
    exportBtn.disabled = true;
    try {
      const { blob, filename } = await api.file("/api/audit/export", filters(), "clinicdesk-audit.csv", { signal: ctx.signal });
      saveFile(blob, filename);
      showAlert(`The audit trail is downloading as ${filename}.`, "success");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      alertError(err, "Could not export the audit trail.");
    } finally {
      exportBtn.disabled = false;
    }
  });

  let seq = 0;
  let loadedOnce = false;
  async function load(focusAction) {
    const mine = ++seq;
    syncAddress();
    clearErrors(form);
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    try {
      const { items, total } = await api.list("/api/audit/", { ...filters(), page: state.page, page_size: PAGE_SIZE }, { signal: ctx.signal });
      if (mine !== seq) return;
      if (!items.length && total > 0 && state.page > 1) {
        state.page = Math.max(1, Math.ceil(total / PAGE_SIZE));
        return load();
      }
      if (!items.length) {
        stateRow(table.tbody, table.cols, "empty", Object.keys(filters()).length ? "Nothing in the trail matches." : "The trail is empty.");
        table.table.dataset.state = "empty";
      } else {
        const recordNames = await lookUpNames(items, ctx.signal);
        if (mine !== seq) return;
        table.tbody.replaceChildren(...items.map((e) => row(e, names, recordNames)));
        table.table.dataset.state = "ready";
      }
      pagerBox.replaceChildren(pager({
        page: state.page, pageSize: PAGE_SIZE, total,
        onPage: (p) => { const dir = p > state.page ? "next-page" : "prev-page"; state.page = p; load(dir); },
      }));
      if (focusAction) {
        const btn = pagerBox.querySelector(`[data-action="${focusAction}"]:not(:disabled)`) || pagerBox.querySelector("button:not(:disabled)");
        if (btn) btn.focus();
      }
      if (loadedOnce) announce.textContent = total === 1 ? "1 entry" : `${total} entries`;
      loadedOnce = true;
    } catch (err) {
      if ((err && err.name === "AbortError") || mine !== seq) return;
      // A filter the API refused (a bad date, say): the message goes next to it.
      if (err && err.errors) showErrors(form, err.errors);
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the audit trail. ${err.message}`, () => load());
      pagerBox.replaceChildren();
    }
  }

  load();
}
