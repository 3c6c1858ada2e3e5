// Doctors list (filters: specialization, city, available, experience, fee)
// and the admin's archived-doctors list with Restore. Role `user` reads only.

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { listScreen } from "../listview.js";
import { pageHeader, setTitle, showAlert, alertError, badge } from "../ui.js";
import { text, money, personName, date } from "../fmt.js";

const ORDERINGS = [
  ["last_name", "Last name A–Z"], ["first_name", "First name A–Z"], ["specialization", "Specialization"],
  ["-years_of_experience", "Most experienced"], ["years_of_experience", "Least experienced"],
  ["consultation_fee", "Lowest fee"], ["-consultation_fee", "Highest fee"], ["-created_at", "Newest first"],
];

const FILTERS = [
  { name: "search", label: "Search", type: "search", class: "search", placeholder: "Name, specialty or city", autocomplete: "off" },
  { name: "specialization", label: "Specialization", autocomplete: "off" },
  { name: "city", label: "City", autocomplete: "off" },
  { name: "is_available", label: "Availability", type: "select", options: [["", "Any"], ["true", "Available"], ["false", "Not available"]] },
  { name: "min_experience", label: "Min. years", type: "number", min: 0, max: 70, inputmode: "numeric" },
  { name: "max_fee", label: "Max. fee", type: "number", min: 0, step: "0.01", inputmode: "decimal" },
  { name: "ordering", label: "Sort by", type: "select", options: ORDERINGS },
];
const DEFAULTS = { search: "", specialization: "", city: "", is_available: "", min_experience: "", max_fee: "", ordering: "last_name" };

const COLUMNS = [
  { label: "Name", sort: "last_name" },
  { label: "Specialization", sort: "specialization" },
  { label: "Experience", sort: "years_of_experience", class: "num" },
  { label: "Fee", sort: "consultation_fee", class: "num" },
  { label: "City" },
  { label: "Phone", class: "hide-narrow" },
  { label: "Availability" },
];

function row(d) {
  const years = d.years_of_experience ?? d.experience_years;
  return h("tr", { dataset: { id: d.id } },
    h("td", {}, h("a", { href: `/doctors/${d.id}` }, personName(d)),
      d.qualification ? h("span", { class: "cell-sub" }, d.qualification) : null),
    h("td", {}, text(d.specialization)),
    h("td", { class: "num" }, years === null || years === undefined ? "—" : `${years} y`),
    h("td", { class: "num" }, money(d.consultation_fee)),
    h("td", {}, text(d.city)),
    h("td", { class: "hide-narrow nowrap" }, text(d.phone)),
    h("td", {}, d.is_available === false ? badge("Not available", "off") : badge("Available", "ok")));
}

export async function list(el, ctx) {
  setTitle("Doctors");
  const actions = [];
  if (session.canEditDoctors()) actions.push(h("a", { class: "btn", href: "/doctors/new", dataset: { action: "new-doctor" } }, "New doctor"));
  if (session.isAdmin()) actions.push(h("a", { class: "btn btn-quiet", href: "/doctors/archived", dataset: { action: "show-archived" } }, "Archived doctors"));
  el.append(pageHeader("Doctors", { actions }));
  listScreen(el, ctx, {
    key: "doctors", list: "doctors", path: "/api/doctors/", caption: "Doctors",
    exportPath: "/api/doctors/export.csv", exportName: "clinicdesk-doctors.csv",
    columns: COLUMNS, filters: FILTERS, defaults: DEFAULTS, row,
    emptyText: (f) => (f ? "No doctors match these filters."
      : session.canEditDoctors() ? "No doctors yet. Add the first one with “New doctor”." : "No doctors yet."),
  });
}

export async function archived(el, ctx) {
  setTitle("Archived doctors");
  el.append(pageHeader("Archived doctors", {
    sub: "Archived doctors cannot be assigned. Restoring one does not reactivate old assignments.",
    actions: [h("a", { class: "btn btn-quiet", href: "/doctors" }, "Back to doctors")],
  }));
  const screen = listScreen(el, ctx, {
    key: "doctors-archived", list: "doctors", path: "/api/doctors/", caption: "Archived doctors",
    query: { archived: "true" },
    columns: [{ label: "Name", sort: "last_name" }, { label: "Specialization" }, { label: "City" }, { label: "Archived on" }, { label: "", class: "actions" }],
    filters: [FILTERS[0]],
    defaults: { search: "" },
    emptyText: (f) => (f ? "No archived doctors match." : "No archived doctors."),
    row: (d) => h("tr", { dataset: { id: d.id } },
      h("td", {}, personName(d)),
      h("td", {}, text(d.specialization)),
      h("td", {}, text(d.city)),
      h("td", {}, date(d.updated_at)),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "restore" }, on: { click: (e) => restore(d, e.currentTarget) } }, "Restore"))),
  });

  async function restore(d, button) {
    button.disabled = true;
    try {
      await api.post(`/api/doctors/${d.id}/restore/`);
      showAlert(`${personName(d)} is restored.`, "success");
      screen.reload();
    } catch (err) {
      button.disabled = false;
      alertError(err, "Could not restore the doctor.");
    }
  }
}
