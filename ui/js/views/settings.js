// Clinic settings (admin): self-registration open/closed, the clinic's
// name, time zone and date format, and where other systems read FHIR. The
// backup schedule is on the Backups screen.

import { h } from "../dom.js";
import * as api from "../api.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { pageHeader, setTitle, showAlert } from "../ui.js";
import * as clinic from "../clinic.js";
import { clinicDataSection } from "./clinic-data.js";

const SPECS = [
  { name: "clinic_name", label: "Clinic name", autocomplete: "organization" },
  {
    name: "time_zone", label: "Time zone", required: true, autocomplete: "off",
    placeholder: Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/Berlin",
    hint: "Where the clinic is, as an IANA name such as Europe/Berlin or Asia/Kolkata. It decides what “today” is (a date of birth may not be after it).",
  },
  {
    name: "date_format", label: "Date format", type: "select",
    options: [
      ["browser", "As each computer's language writes dates"],
      ["DD.MM.YYYY", "DD.MM.YYYY (12.07.1984)"],
      ["DD/MM/YYYY", "DD/MM/YYYY (12/07/1984)"],
      ["MM/DD/YYYY", "MM/DD/YYYY (07/12/1984)"],
      ["YYYY-MM-DD", "YYYY-MM-DD (1984-07-12)"],
    ],
    hint: "How every screen shows dates and how a date of birth is typed in.",
  },
  {
    name: "registration", label: "Self-registration", type: "radio",
    options: [
      ["closed", "Closed — only admins create accounts (recommended)"],
      ["open", "Open — anyone who can reach this server may create an account", "New accounts get the role “user”: they see only the patients they add."],
    ],
  },
];

export default async function settingsView(el, ctx) {
  setTitle("Settings");
  el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading settings…"));
  const settings = await api.get("/api/settings/", { signal: ctx.signal });
  el.replaceChildren();
  const form = h("form", { class: "form section narrow-section", dataset: { form: "settings" } },
    SPECS.map((s) => field({ ...s, value: settings[s.name] ?? "" })),
    h("div", { class: "form-actions" }, submitButton("Save settings")));
  onSubmit(form, async () => {
    const body = values(form, SPECS);
    const saved = await api.patch("/api/settings/", body);
    // The header and every date follow at once, without signing in again.
    clinic.use(saved);
    showAlert("Settings saved. They apply at once.", "success");
  });
  el.append(pageHeader("Settings"), form,
    h("p", { class: "muted" }, "Backups and their schedule: see ", h("a", { href: "/backups" }, "Backups"), "."),
    fhirSection(), clinicDataSection(ctx.signal));
}

// For the person who connects another clinical system: the address it reads.
function fhirSection() {
  return h("section", { class: "section narrow-section", dataset: { section: "fhir" } },
    h("h2", {}, "FHIR"),
    h("p", {}, "Other clinical systems read patients, doctors and appointments (FHIR R4, read-only) at ",
      h("code", { dataset: { fhirBase: "" } }, `${location.origin}/fhir`),
      ", with the token of a clinicdesk account; its role decides what they see."));
}
