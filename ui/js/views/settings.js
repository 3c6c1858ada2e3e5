// Clinic settings (admin): self-registration open/closed, the clinic's
// name, and the state of the backups.

import { h } from "../dom.js";
import * as api from "../api.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { pageHeader, setTitle, showAlert } from "../ui.js";
import { backupSection } from "./backups.js";
import { clinicDataSection } from "./clinic-data.js";

const SPECS = [
  { name: "clinic_name", label: "Clinic name", autocomplete: "organization" },
  {
    name: "time_zone", label: "Time zone", required: true, autocomplete: "off",
    placeholder: Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/Berlin",
    hint: "Where the clinic is, as an IANA name such as Europe/Berlin or Asia/Kolkata. It decides what “today” is (a date of birth may not be after it).",
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
    await api.patch("/api/settings/", body);
    showAlert("Settings saved. They apply at once.", "success");
  });
  el.append(pageHeader("Settings"), form, backupSection(ctx.signal), clinicDataSection(ctx.signal));
}
