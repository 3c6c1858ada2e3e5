// Sign in. The session route sets the HttpOnly refresh cookie; we keep only
// the access token (session.js). app.js moves on to the app after "login".

import { h } from "../dom.js";
import * as session from "../session.js";
import { field, onSubmit, submitButton } from "../forms.js";
import { setTitle, clearAlert, formAlert } from "../ui.js";
import { registrationOpen } from "../registration.js";

export default async function loginView(el, ctx) {
  setTitle("Sign in");
  el.classList.add("auth-screen");
  // A refused sign-in is said right above the fields it is about.
  const form = h("form", { class: "form", dataset: { form: "login" } },
    formAlert(),
    field({ name: "email", label: "Email or username", type: "text", autocomplete: "username", required: true, inputmode: "email" }),
    field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "form-actions" }, submitButton("Sign in")));
  onSubmit(form, async () => {
    const login = form.elements.email.value.trim();
    const password = form.elements.password.value;
    clearAlert();
    await session.login(login, password);
  });
  // "Create one" only while an admin has self-registration open; the card's
  // data-registration says what the server answered (open, closed, unknown).
  const noAccount = h("p", { class: "muted small", dataset: { role: "no-account" } },
    "No account yet? Ask your clinic's administrator.");
  const card = h("section", { class: "card auth-card" },
    h("p", { class: "brand-mark" }, "clinicdesk"),
    h("h1", { tabindex: "-1" }, "Sign in"),
    form,
    noAccount);
  el.append(card);
  form.elements.email.setAttribute("autofocus", "");
  form.elements.email.focus();
  // Not awaited: the form is usable at once, the sentence follows the answer.
  registrationOpen(ctx.signal).catch(() => null).then((open) => {
    if (ctx.signal.aborted) return;
    card.dataset.registration = open === true ? "open" : open === false ? "closed" : "unknown";
    if (open) {
      noAccount.replaceChildren("No account yet? ",
        h("a", { href: "/register", dataset: { action: "register" } }, "Create one"),
        " or ask your clinic's administrator.");
    }
  });
}
