// My account: name and username, and the password. Changing the password ends
// every session of this account (the API revokes them), so we sign out too.

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { field, values, onSubmit, submitButton, showErrors } from "../forms.js";
import { pageHeader, setTitle, showAlert } from "../ui.js";
import { detailGroups } from "../details.js";
import { roleLabel, dateTime } from "../fmt.js";
import { strengthMeter } from "../strength.js";

const PROFILE = [
  { name: "name", label: "Name", autocomplete: "name" },
  { name: "username", label: "Username (optional)", autocomplete: "username", hint: "You can sign in with it instead of your email." },
];
const PASSWORD = [
  { name: "current_password", label: "Current password", type: "password", autocomplete: "current-password", required: true },
  { name: "new_password", label: "New password", type: "password", autocomplete: "new-password", required: true },
  { name: "new_password_confirm", label: "New password again", type: "password", autocomplete: "new-password", required: true },
];

export default async function accountView(el, ctx) {
  setTitle("My account");
  const me = await api.get("/api/auth/me/", { signal: ctx.signal });

  const profile = h("form", { class: "form", dataset: { form: "profile" } },
    PROFILE.map((s) => field({ ...s, value: me[s.name] ?? "" })),
    h("div", { class: "form-actions" }, submitButton("Save")));
  onSubmit(profile, async () => {
    const updated = await api.patch("/api/auth/me/", values(profile, PROFILE));
    session.setUser(updated);
    showAlert("Your details are saved.", "success");
  });

  const password = h("form", { class: "form", dataset: { form: "password" } },
    PASSWORD.map(field),
    h("p", { class: "field-hint" }, "After the change you sign in again with the new password, on every device."),
    h("div", { class: "form-actions" }, submitButton("Change password")));
  const np = password.elements.new_password;
  np.after(strengthMeter(np, () => [me.email, me.name]));
  onSubmit(password, async () => {
    const body = values(password, PASSWORD);
    if (body.new_password !== body.new_password_confirm) {
      showErrors(password, { new_password_confirm: ["The two passwords do not match."] });
      return;
    }
    await api.post("/api/auth/password/", { current_password: body.current_password, new_password: body.new_password });
    await session.logout("password");
  });

  el.append(pageHeader("My account"),
    h("div", { class: "layout-two even" },
      h("section", { class: "section", "aria-labelledby": "acc-h" },
        h("h2", { id: "acc-h" }, "Your details"),
        detailGroups([[null, [["email", "Email", me.email], ["role", "Role", roleLabel(me.role)], ["created_at", "Account created", dateTime(me.created_at)]]]]),
        h("div", { class: "spacer" }),
        profile),
      h("section", { class: "section", "aria-labelledby": "pw-h" },
        h("h2", { id: "pw-h" }, "Change password"),
        password)));
}
