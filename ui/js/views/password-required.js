// "Choose a new password": the only screen for someone signed in with a
// temporary password an admin set (`must_change_password`). Until they choose
// their own, the API refuses everything else (403 password_change_required),
// so app.js routes every page here and hides the navigation.

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { field, values, onSubmit, submitButton, showErrors } from "../forms.js";
import { setTitle, flash } from "../ui.js";
import { strengthMeter } from "../strength.js";

const SPECS = [
  { name: "current_password", label: "Temporary password", type: "password", autocomplete: "current-password", required: true, hint: "The one your admin gave you." },
  { name: "new_password", label: "New password", type: "password", autocomplete: "new-password", required: true },
  { name: "new_password_confirm", label: "New password again", type: "password", autocomplete: "new-password", required: true },
];

export default async function passwordRequiredView(el, ctx) {
  setTitle("Choose a new password");
  el.classList.add("auth-screen");
  const me = ctx.user;
  const form = h("form", { class: "form", dataset: { form: "password-required" } },
    SPECS.map(field),
    h("div", { class: "form-actions" }, submitButton("Save and continue")));
  const np = form.elements.new_password;
  np.after(strengthMeter(np, () => [me.email, me.name]));

  onSubmit(form, async () => {
    const body = values(form, SPECS);
    if (body.new_password !== body.new_password_confirm) {
      showErrors(form, { new_password_confirm: ["The two passwords do not match."] });
      return;
    }
    await api.post("/api/auth/password/", { current_password: body.current_password, new_password: body.new_password });
    try {
      // The change ends every session of the account, this one's refresh cookie
      // and access token included: sign in afresh with the new password.
      await session.login(me.email, body.new_password);
    } catch {
      session.setUser(await api.get("/api/auth/me/"));
    }
    flash("Your new password is saved.", "success");
    navigate(ctx.next, { replace: true });
  });

  el.append(h("section", { class: "card auth-card" },
    h("p", { class: "brand-mark" }, "clinicdesk"),
    h("h1", { tabindex: "-1" }, "Choose a new password"),
    h("p", { dataset: { role: "password-required-reason" } }, "An admin set a temporary password for you. Choose your own to continue."),
    form));
  form.elements.current_password.focus();
}
