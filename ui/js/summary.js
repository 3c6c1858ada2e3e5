// The top of a patient's page: allergies and current medications first,
// marked when there are any (they are what a person must not miss), and the
// heading of the printed summary (the clinic's name, the patient's number,
// name and birth date), which only paper shows (see @media print).

import { h } from "./dom.js";
import { date, years } from "./fmt.js";
import * as clinic from "./clinic.js";

/** One of the two warnings: the text when recorded, else a quiet "none recorded". */
function flag(name, title, value, none) {
  const present = !!(value && value.trim());
  return h("div", { class: ["medical-flag", present && "present"], dataset: { field: name, present: String(present) } },
    h("h3", {}, present ? h("span", { class: "flag-mark", "aria-hidden": "true" }, "! ") : null, title,
      present ? h("span", { class: "visually-hidden" }, " (recorded)") : null),
    h("p", { class: present ? "flag-text" : "muted" }, present ? value : none));
}

/** Allergies and medications, for the top of the page and of the printout. */
export function medicalFirst(p) {
  return h("section", { class: "section medical-first", "aria-labelledby": "medical-h", dataset: { role: "medical-first" } },
    h("h2", { id: "medical-h", class: "visually-hidden" }, "Allergies and medications"),
    h("div", { class: "medical-flags" },
      flag("allergies", "Allergies", p.allergies, "No allergies recorded."),
      flag("current_medications", "Current medications", p.current_medications, "No medications recorded.")));
}

/** The heading of the printed summary. */
export function printHead(p, name) {
  const born = p.date_of_birth
    ? `born ${date(p.date_of_birth)}${p.age === null || p.age === undefined ? "" : ` (${years(p.age)})`}`
    : p.age === null || p.age === undefined ? "date of birth not recorded" : `age ${years(p.age)}`;
  return h("header", { class: "print-only print-head", dataset: { role: "print-head" } },
    h("p", { class: "print-clinic", dataset: { role: "print-clinic" } }, clinic.name() || "clinicdesk"),
    h("p", { class: "sheet-title" }, "Patient summary"),
    h("p", { class: "print-who" },
      h("strong", {}, name), " · ", h("span", { dataset: { field: "number" } }, `Patient #${p.id}`), " · ", born),
    h("p", { class: "muted" }, `Printed ${date(new Date().toISOString())}`));
}
