// Create or edit a patient. Every field's error from the API's `errors`
// appears next to that field ([data-error-for]).

import { h } from "../dom.js";
import * as api from "../api.js";
import { navigate } from "../router.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { notFound, pageHeader, setTitle, flash, clearAlert } from "../ui.js";
import { GENDERS, BLOOD_GROUPS, personName, datePattern } from "../fmt.js";
import * as session from "../session.js";
import { duplicateWarning } from "../duplicates.js";

export const GROUPS = [
  ["Identity", [
    { name: "first_name", label: "First name", required: true, autocomplete: "off" },
    { name: "last_name", label: "Last name", autocomplete: "off" },
    { name: "gender", label: "Gender", type: "select", options: [["", "Not recorded"], ...GENDERS] },
    // Typed in the clinic's date format (see forms.js); the API judges whether it is in the future.
    { name: "date_of_birth", label: "Date of birth", type: "day", hint: () => `Type it as ${datePattern()}. When it is known, the age is worked out from it.` },
    { name: "age", label: "Age (years)", type: "number", min: 0, max: 130, hint: "Only if the date of birth is unknown: a date of birth always wins, so this box is locked while one is filled in." },
  ]],
  ["Contact", [
    { name: "phone", label: "Phone", type: "tel", autocomplete: "off" },
    { name: "email", label: "Email", type: "email", autocomplete: "off" },
    { name: "address", label: "Address", wide: true, autocomplete: "off" },
    { name: "city", label: "City", autocomplete: "off" },
    { name: "state", label: "State / region", autocomplete: "off" },
    { name: "postal_code", label: "Postal code", autocomplete: "off" },
    { name: "country", label: "Country", autocomplete: "off" },
  ]],
  ["Medical", [
    { name: "blood_group", label: "Blood group", type: "select", options: [["", "Not recorded"], ...BLOOD_GROUPS.map((g) => [g, g])] },
    { name: "allergies", label: "Allergies", type: "textarea", wide: true, rows: 2 },
    { name: "current_medications", label: "Current medications", type: "textarea", wide: true, rows: 2 },
    { name: "medical_history", label: "Medical history", type: "textarea", wide: true, rows: 4 },
  ]],
  ["Emergency contact", [
    { name: "emergency_contact_name", label: "Name", autocomplete: "off" },
    { name: "emergency_contact_phone", label: "Phone", type: "tel", autocomplete: "off" },
    { name: "emergency_contact_relation", label: "Relation", autocomplete: "off" },
  ]],
  // Last: it is rarely changed, and in the middle it stopped Tab on the way from the age to the phone.
  ["Status", [
    { name: "is_active", label: "Active patient", type: "checkbox", value: true, hint: "Inactive patients stay on file but are marked in lists." },
  ]],
];
const SPECS = GROUPS.flatMap(([, specs]) => specs);
const ALIASES = { contact_number: "phone", name: "first_name" };

export default async function patientForm(el, ctx) {
  const id = ctx.params.id;
  let patient = null;
  if (id) {
    el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading patient…"));
    patient = await api.get(`/api/patients/${encodeURIComponent(id)}/`, { signal: ctx.signal }).catch(notFound("patient"));
    el.replaceChildren();
  }
  const title = patient ? `Edit ${personName(patient)}` : "New patient";
  setTitle(title);

  const valueOf = (s) => {
    if (!patient) return s.value;
    // A computed age (from the date of birth) is not something to edit.
    if (s.name === "age") return patient.date_of_birth ? "" : patient.age ?? "";
    return patient[s.name] ?? (s.type === "checkbox" ? false : "");
  };
  // A new patient: a warning (never a block) when someone alike is on file already.
  let form;
  const warning = patient ? null : duplicateWarning(() => values(form, SPECS), ctx.signal);
  form = h("form", { class: "form section", dataset: { form: "patient" } },
    GROUPS.map(([legend, specs], i) => [h("fieldset", { class: "group" },
      h("legend", {}, legend),
      h("div", { class: "form-grid" }, specs.map((s) => field({ ...s, hint: typeof s.hint === "function" ? s.hint() : s.hint, value: valueOf(s) })))),
      i === 0 && warning ? warning.el : null]),
    h("div", { class: "form-actions" },
      submitButton(patient ? "Save changes" : "Create patient"),
      h("a", { class: "btn btn-quiet", href: patient ? `/patients/${patient.id}` : "/patients", dataset: { action: "cancel" } }, "Cancel")));

  // Date of birth and age cannot disagree: while a date is typed the age is
  // locked (and sent empty), because the server answers the age from the date.
  const lockAge = () => {
    const age = form.elements.age;
    const dated = form.elements.date_of_birth.value.trim() !== "";
    if (dated) age.value = "";
    age.disabled = dated;
  };
  form.elements.date_of_birth.addEventListener("input", lockAge);
  lockAge();

  if (warning) {
    form.addEventListener("input", () => warning.check());
    form.addEventListener("change", () => warning.check());
  }

  onSubmit(form, async () => {
    const body = values(form, SPECS);
    clearAlert();
    const saved = patient
      ? await api.patch(`/api/patients/${patient.id}/`, body)
      : await api.post("/api/patients/", body);
    if (warning) warning.cancel();
    // Staff and admins see the candidates on the new record's page.
    const alike = !patient && saved.possible_duplicates?.length && ["admin", "staff"].includes(session.role());
    flash(patient ? "Changes saved."
      : `${personName(saved)} is added.${alike ? " Someone alike is on file: see “Possible duplicates” on this page." : ""}`, "success");
    navigate(`/patients/${saved.id}`);
  }, { aliases: ALIASES });

  el.append(pageHeader(title, { sub: patient ? null : "Only the first name is required; add the rest when you know it." }), form);
  form.elements.first_name.focus();
}
