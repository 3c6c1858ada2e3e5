// Self-registration (only works while an admin has it open in Settings).
// A new account has the role `user`; we sign it in straight away.

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { field, values, onSubmit, submitButton, showErrors } from "../forms.js";
import { setTitle, showAlert, formAlert } from "../ui.js";
import { registrationOpen } from "../registration.js";
import { strengthMeter } from "../strength.js";

const FIELDS = [
  { name: "name", label: "Your name", autocomplete: "name" },
  { name: "email", label: "Email", type: "email", autocomplete: "email", required: true },
  { name: "password", label: "Password", type: "password", autocomplete: "new-password", required: true },
  { name: "password_confirm", label: "Password again", type: "password", autocomplete: "new-password", required: true },
];

const CLOSED = "Self-registration is closed. Ask your clinic's administrator for an account.";

export default async function registerView(el, ctx) {
  setTitle("Create an account");
  el.classList.add("auth-screen");
  const notice = formAlert();
  const form = h("form", { class: "form", dataset: { form: "register" } }, notice, FIELDS.map(field),
    h("div", { class: "form-actions" }, submitButton("Create account")));
  const pw = form.elements.password;
  pw.after(strengthMeter(pw, () => [form.elements.email.value, form.elements.name.value]));
  onSubmit(form, async () => {
    const body = values(form, FIELDS);
    if (body.password !== body.password_confirm) {
      showErrors(form, { password_confirm: ["The two passwords do not match."] });
      return;
    }
    try {
      await api.post("/api/auth/register/", body, { auth: false });
    } catch (err) {
      if (err.code === "registration_closed") {
        showAlert(err.message || CLOSED, "error", notice);
        return;
      }
      throw err;
    }
    await session.login(body.email, body.password);
  });
  const card = h("section", { class: "card auth-card" },
    h("p", { class: "brand-mark" }, "clinicdesk"),
    h("h1", { tabindex: "-1" }, "Create an account"),
    h("p", { class: "muted" }, "New accounts can see and manage the patients they add themselves."),
    form,
    h("p", { class: "muted small" }, "Already have an account? ", h("a", { href: "/login" }, "Sign in")));
  el.append(card);
  // Said before anyone types: a closed registration would refuse the whole form.
  registrationOpen(ctx.signal).catch(() => null).then((open) => {
    if (ctx.signal.aborted) return;
    card.dataset.registration = open === true ? "open" : open === false ? "closed" : "unknown";
    if (open === false && notice.hidden) showAlert(CLOSED, "info", notice);
  });
}
