// Create or edit a doctor (admin and staff; the route is closed to `user`).

import { h } from "../dom.js";
import * as api from "../api.js";
import { navigate } from "../router.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { notFound, pageHeader, setTitle, flash, clearAlert } from "../ui.js";
import { personName } from "../fmt.js";

const GROUPS = [
  ["Doctor", [
    { name: "first_name", label: "First name", required: true, autocomplete: "off" },
    { name: "last_name", label: "Last name", autocomplete: "off" },
    { name: "specialization", label: "Specialization", required: true, autocomplete: "off" },
    { name: "qualification", label: "Qualification", autocomplete: "off" },
    { name: "years_of_experience", label: "Years of experience", type: "number", min: 0, max: 70, inputmode: "numeric" },
    { name: "license_number", label: "License number", autocomplete: "off" },
  ]],
  ["Contact", [
    { name: "phone", label: "Phone", type: "tel", autocomplete: "off" },
    { name: "email", label: "Email", type: "email", autocomplete: "off" },
    { name: "city", label: "City", autocomplete: "off" },
  ]],
  ["Practice", [
    { name: "consultation_fee", label: "Consultation fee", type: "number", min: 0, step: "0.01", inputmode: "decimal" },
    {
      name: "appointment_minutes", label: "Appointment length (minutes)", type: "number", min: 5, max: 240, value: 15,
      inputmode: "numeric", hint: "How long a booking takes unless one says otherwise: 5 to 240 minutes.",
    },
    { name: "available_days", label: "Available days", placeholder: "e.g. Mon–Fri", autocomplete: "off" },
    { name: "available_time", label: "Available hours", placeholder: "e.g. 09:00–17:00", autocomplete: "off" },
    { name: "languages_spoken", label: "Languages spoken", autocomplete: "off" },
    { name: "is_available", label: "Available for new patients", type: "checkbox", value: true },
    { name: "bio", label: "Bio", type: "textarea", wide: true, rows: 4 },
  ]],
];
const SPECS = GROUPS.flatMap(([, specs]) => specs);
const ALIASES = { experience_years: "years_of_experience", contact_number: "phone", name: "first_name" };

export default async function doctorForm(el, ctx) {
  const id = ctx.params.id;
  let doctor = null;
  if (id) {
    el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading doctor…"));
    doctor = await api.get(`/api/doctors/${encodeURIComponent(id)}/`, { signal: ctx.signal }).catch(notFound("doctor"));
    el.replaceChildren();
  }
  const title = doctor ? `Edit ${personName(doctor)}` : "New doctor";
  setTitle(title);

  const valueOf = (s) => (doctor ? doctor[s.name] ?? (s.type === "checkbox" ? false : "") : s.value);
  const form = h("form", { class: "form section", dataset: { form: "doctor" } },
    GROUPS.map(([legend, specs]) => h("fieldset", { class: "group" },
      h("legend", {}, legend),
      h("div", { class: "form-grid" }, specs.map((s) => field({ ...s, value: valueOf(s) }))))),
    h("div", { class: "form-actions" },
      submitButton(doctor ? "Save changes" : "Create doctor"),
      h("a", { class: "btn btn-quiet", href: doctor ? `/doctors/${doctor.id}` : "/doctors", dataset: { action: "cancel" } }, "Cancel")));

  onSubmit(form, async () => {
    const body = values(form, SPECS);
    clearAlert();
    const saved = doctor
      ? await api.patch(`/api/doctors/${doctor.id}/`, body)
      : await api.post("/api/doctors/", body);
    flash(doctor ? "Changes saved." : `${personName(saved)} is added.`, "success");
    navigate(`/doctors/${saved.id}`);
  }, { aliases: ALIASES });

  el.append(pageHeader(title, { sub: doctor ? null : "First name and specialization are required." }), form);
  form.elements.first_name.focus();
}
