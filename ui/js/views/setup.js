// First run: the setup link printed by the server (/setup#<token>) creates the
// first admin, signs them in, and applies the first settings (may staff
// self-register? default no; the clinic's name).

import { h } from "../dom.js";
import * as api from "../api.js";
import * as clinicSettings from "../clinic.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { field, values, onSubmit, submitButton, showErrors } from "../forms.js";
import { setTitle, showAlert, flash } from "../ui.js";
import { strengthMeter } from "../strength.js";

const ACCOUNT = [
  // Required here (the API leaves it optional): the first admin's name is
  // what colleagues see on accounts and in the audit trail.
  { name: "name", label: "Your name", autocomplete: "name", required: true },
  { name: "email", label: "Email", type: "email", autocomplete: "email", required: true },
  { name: "password", label: "Password", type: "password", autocomplete: "new-password", required: true },
  { name: "password_confirm", label: "Password again", type: "password", autocomplete: "new-password", required: true },
];
const CLINIC = [
  { name: "clinic_name", label: "Clinic name (optional)", autocomplete: "organization" },
  {
    name: "registration", label: "May staff create their own accounts?", type: "radio", value: "closed",
    options: [
      ["closed", "No — I will create every account myself (recommended)"],
      ["open", "Yes — anyone who can reach this server may register", "New accounts get the role “user”: they see only the patients they add."],
    ],
  },
];

export default async function setupView(el) {
  setTitle("Set up clinicdesk");
  el.classList.add("auth-screen");
  const token = location.hash.replace(/^#/, "");

  const form = h("form", { class: "form", dataset: { form: "setup" } },
    h("h2", { class: "form-section" }, "Your administrator account"),
    ACCOUNT.map(field),
    h("h2", { class: "form-section" }, "Your clinic"),
    CLINIC.map(field),
    h("div", { class: "form-actions" }, submitButton("Create admin and sign in")));
  const pw = form.elements.password;
  pw.after(strengthMeter(pw, () => [form.elements.email.value, form.elements.name.value]));

  onSubmit(form, async () => {
    const account = values(form, ACCOUNT);
    const clinic = values(form, CLINIC);
    if (!account.name) {
      // Every blank required field is flagged with it, in form order.
      showErrors(form, { name: ["Enter your name, as colleagues will see it."] });
      return;
    }
    if (account.password !== account.password_confirm) {
      showErrors(form, { password_confirm: ["The two passwords do not match."] });
      return;
    }
    try {
      await api.post("/api/setup/", { token, email: account.email, password: account.password, name: account.name }, { auth: false });
    } catch (err) {
      if (err.status === 401) {
        showAlert("This setup link is wrong or has expired. Restart clinicdesk to get a new link (it is valid for 30 minutes).", "error");
        return;
      }
      if (err.status === 404) {
        showAlert("Setup is already done: an administrator exists. Sign in instead.", "error");
        return;
      }
      throw err;
    }
    // The token has done its job; keep it out of the history.
    history.replaceState(null, "", "/setup");
    await session.login(account.email, account.password);
    const settings = { registration: clinic.registration || "closed" };
    if (clinic.clinic_name) settings.clinic_name = clinic.clinic_name;
    try {
      // Signing in read the settings before the name was given: the header takes it now.
      clinicSettings.use(await api.patch("/api/settings/", settings));
    } catch (err) {
      flash(`Your account is ready, but the settings could not be saved (${err.message}). Check them under Settings.`, "error");
      navigate("/settings");
      return;
    }
    flash("Welcome to clinicdesk. Next: add your doctors and staff accounts, then your patients.", "success");
    navigate("/patients");
  });

  el.append(h("section", { class: "card auth-card wide-card" },
    h("p", { class: "brand-mark" }, "clinicdesk"),
    h("h1", { tabindex: "-1" }, "Set up clinicdesk"),
    h("p", { class: "muted" }, "Create the administrator account. You can add doctors, staff and other accounts afterwards."),
    form));

  if (!token) {
    showAlert("This address has no setup token. Open the full link clinicdesk printed when it started (it ends with #…).", "error");
  }
  form.elements.name.setAttribute("autofocus", "");
  form.elements.name.focus();
}
