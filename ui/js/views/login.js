// Sign in. The session route sets the HttpOnly refresh cookie; we keep only
// the access token (session.js). app.js moves on to the app after "login".

import { h } from "../dom.js";
import * as session from "../session.js";
import { field, onSubmit, submitButton } from "../forms.js";
import { setTitle, clearAlert } from "../ui.js";

export default async function loginView(el) {
  setTitle("Sign in");
  el.classList.add("auth-screen");
  const form = h("form", { class: "form", dataset: { form: "login" } },
    field({ name: "email", label: "Email or username", type: "text", autocomplete: "username", required: true, inputmode: "email" }),
    field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "form-actions" }, submitButton("Sign in")));
  onSubmit(form, async () => {
    const login = form.elements.email.value.trim();
    const password = form.elements.password.value;
    clearAlert();
    await session.login(login, password);
  });
  el.append(h("section", { class: "card auth-card" },
    h("p", { class: "brand-mark" }, "clinicdesk"),
    h("h1", { tabindex: "-1" }, "Sign in"),
    form,
    h("p", { class: "muted small" }, "No account yet? Ask your clinic's administrator, or ",
      h("a", { href: "/register" }, "create one"), " if self-registration is open.")));
  form.elements.email.setAttribute("autofocus", "");
  form.elements.email.focus();
}
