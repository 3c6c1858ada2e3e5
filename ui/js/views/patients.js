// Patients list (search, filters, sorting, paging, assigned doctors) and the
// admin's archived-patients list with Restore.

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { listScreen } from "../listview.js";
import { pageHeader, setTitle, showAlert, alertError, badge } from "../ui.js";
import { GENDERS, BLOOD_GROUPS, label, text, personName, date, DASH } from "../fmt.js";

const ORDERINGS = [
  ["-created_at", "Newest first"], ["created_at", "Oldest first"],
  ["first_name", "First name A–Z"], ["-first_name", "First name Z–A"],
  ["last_name", "Last name A–Z"], ["-last_name", "Last name Z–A"],
  ["-date_of_birth", "Youngest first"], ["date_of_birth", "Oldest first (age)"],
];

const FILTERS = [
  { name: "search", label: "Search", type: "search", class: "search", placeholder: "Name, phone or email", autocomplete: "off" },
  { name: "gender", label: "Gender", type: "select", options: [["", "Any"], ...GENDERS] },
  { name: "city", label: "City", autocomplete: "off" },
  { name: "blood_group", label: "Blood group", type: "select", options: [["", "Any"], ...BLOOD_GROUPS.map((g) => [g, g])] },
  { name: "is_active", label: "Status", type: "select", options: [["", "Any"], ["true", "Active"], ["false", "Inactive"]] },
  { name: "ordering", label: "Sort by", type: "select", options: ORDERINGS },
];
const DEFAULTS = { search: "", gender: "", city: "", blood_group: "", is_active: "", ordering: "-created_at" };

const COLUMNS = [
  { label: "Name", sort: "first_name" },
  { label: "Age", sort: "date_of_birth", invert: true, class: "num" },
  { label: "Gender" },
  { label: "Phone" },
  { label: "City" },
  { label: "Assigned doctors" },
];

function row(p) {
  return h("tr", { dataset: { id: p.id } },
    h("td", {},
      h("a", { href: `/patients/${p.id}` }, personName(p)),
      p.is_active === false ? [" ", badge("Inactive", "off")] : null,
      // The number and the birth date tell apart two people of the same name.
      h("span", { class: "cell-sub", dataset: { role: "identity" } },
        h("span", { dataset: { field: "number" } }, `#${p.id}`),
        p.date_of_birth ? [" · born ", h("span", { dataset: { field: "date_of_birth" } }, date(p.date_of_birth))] : null),
      p.email ? h("span", { class: "cell-sub" }, p.email) : null),
    h("td", { class: "num" }, text(p.age)),
    h("td", {}, p.gender ? label(GENDERS, p.gender) : DASH),
    h("td", { class: "nowrap" }, text(p.phone)),
    h("td", {}, text(p.city)),
    h("td", { class: "doctor-list", dataset: { col: "doctors" } }, "…"));
}

/** Fills the "Assigned doctors" column: the active mappings of the whole page in one request. */
async function fillDoctors(items, tbody, signal) {
  const cells = new Map(items.map((p) => [p.id, tbody.querySelector(`tr[data-id="${p.id}"] [data-col="doctors"]`)]));
  if (!items.length) return;
  try {
    const ids = items.map((p) => p.id).join(",");
    const { items: maps } = await api.list("/api/mappings/", { patient_id: ids, status: "ACTIVE", page_size: 500 }, { signal });
    const names = new Map();
    for (const m of maps) {
      const name = m.doctor_details ? personName(m.doctor_details) : `Doctor #${m.doctor}`;
      names.set(m.patient, [...(names.get(m.patient) || []), name]);
    }
    for (const [id, cell] of cells) {
      if (cell) cell.textContent = names.has(id) ? names.get(id).join(", ") : DASH;
    }
  } catch (err) {
    if (err && err.name === "AbortError") return;
    for (const cell of cells.values()) if (cell) cell.textContent = "(not loaded)";
  }
}

export async function list(el, ctx) {
  setTitle("Patients");
  const actions = [h("a", { class: "btn", href: "/patients/new", dataset: { action: "new-patient" } }, "New patient")];
  if (session.isAdmin()) actions.push(h("a", { class: "btn btn-quiet", href: "/patients/archived", dataset: { action: "show-archived" } }, "Archived patients"));
  const mine = session.role() === "user";
  el.append(pageHeader("Patients", { sub: mine ? "The patients you have added." : null, actions }));
  listScreen(el, ctx, {
    key: "patients", list: "patients", path: "/api/patients/", caption: "Patients",
    exportPath: "/api/patients/export.csv", exportName: "clinicdesk-patients.csv",
    columns: COLUMNS, filters: FILTERS, defaults: DEFAULTS, row,
    emptyText: (f) => (f ? "No patients match these filters." : "No patients yet. Add the first one with “New patient”."),
    after: fillDoctors,
  });
}

export async function archived(el, ctx) {
  setTitle("Archived patients");
  el.append(pageHeader("Archived patients", {
    sub: "Archived patients are hidden everywhere else. Restore one to bring it back with its history.",
    actions: [h("a", { class: "btn btn-quiet", href: "/patients" }, "Back to patients")],
  }));
  const screen = listScreen(el, ctx, {
    key: "patients-archived", list: "patients", path: "/api/patients/", caption: "Archived patients",
    query: { archived: "true" },
    columns: [{ label: "Name", sort: "first_name" }, { label: "Age", class: "num" }, { label: "Phone" }, { label: "City" }, { label: "Archived on", sort: "updated_at" }, { label: "", class: "actions" }],
    filters: [FILTERS[0], { name: "ordering", label: "Sort by", type: "select", options: [["-updated_at", "Recently archived"], ...ORDERINGS.slice(2, 6)] }],
    defaults: { search: "", ordering: "-updated_at" },
    emptyText: (f) => (f ? "No archived patients match." : "No archived patients."),
    row: (p) => h("tr", { dataset: { id: p.id } },
      h("td", {}, personName(p),
        // Archived by a merge: the record that was kept instead.
        p.merged_into ? h("span", { class: "cell-sub", dataset: { role: "merged-into" } },
          "Merged into ", h("a", { href: `/patients/${p.merged_into}` }, `patient #${p.merged_into}`)) : null),
      h("td", { class: "num" }, text(p.age)),
      h("td", {}, text(p.phone)),
      h("td", {}, text(p.city)),
      // Archiving is the record's last change, so updated_at is when it was archived.
      h("td", {}, date(p.updated_at)),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "restore" }, on: { click: (e) => restore(p, e.currentTarget) } }, "Restore"))),
  });

  async function restore(p, button) {
    button.disabled = true;
    try {
      await api.post(`/api/patients/${p.id}/restore/`);
      showAlert(`${personName(p)} is restored.`, "success");
      screen.reload();
    } catch (err) {
      button.disabled = false;
      alertError(err, "Could not restore the patient.");
    }
  }
}
