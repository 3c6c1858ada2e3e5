// Accounts (admin): list, create (with role), change role, set a password,
// clear a sign-in delay, deactivate and reactivate. The API refuses to demote/deactivate the
// last admin (409). A password set here is temporary unless the admin says
// otherwise: its owner must choose their own at the next sign-in.

import { h, $ } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { listScreen } from "../listview.js";
import { field, values, onSubmit, submitButton, showErrors, clearErrors } from "../forms.js";
import { pageHeader, setTitle, showAlert, alertError, confirmDialog, badge } from "../ui.js";
import { ROLES, roleLabel, text, date, dateTime } from "../fmt.js";
import { strengthMeter } from "../strength.js";

const ROLE_HELP = "Staff: every patient and doctor. User: only the patients they add; reads doctors. Admin: everything, including accounts and settings.";

// A password an admin chose is known to two people: by default its owner must replace it.
const MUST_CHANGE = {
  name: "must_change_password", label: "Must choose a new password at next sign-in", type: "checkbox", value: true,
  hint: "Until then they can do nothing else.",
};

const RESET = [
  { name: "password", label: "New password", type: "password", required: true, autocomplete: "new-password", hint: "Give it to the person in private." },
  MUST_CHANGE,
];

const CREATE = [
  { name: "name", label: "Name", autocomplete: "off" },
  { name: "email", label: "Email", type: "email", required: true, autocomplete: "off" },
  { name: "username", label: "Username (optional)", autocomplete: "off" },
  { name: "password", label: "Initial password", type: "password", required: true, autocomplete: "new-password", hint: "Give it to the person in private." },
  { name: "role", label: "Role", type: "select", value: "staff", options: [["staff", "Staff"], ["user", "User"], ["admin", "Admin"]], hint: ROLE_HELP },
  MUST_CHANGE,
];

export default async function usersView(el, ctx) {
  setTitle("Users");
  el.append(pageHeader("Users", { sub: "Accounts are never deleted: a deactivated account can no longer sign in, and its history stays attributable." }));
  const listBox = h("div", { class: "list-column" });
  const form = h("form", { class: "form", dataset: { form: "user-create" } }, CREATE.map(field),
    h("div", { class: "form-actions" }, submitButton("Create account")));
  const pw = form.elements.password;
  pw.after(strengthMeter(pw, () => [form.elements.email.value, form.elements.name.value]));
  el.append(h("div", { class: "layout-two wide-left" },
    listBox,
    h("section", { class: "section", "aria-labelledby": "new-user-h" }, h("h2", { id: "new-user-h" }, "Add an account"), form)));

  const me = session.currentUser();
  // The doctors an account can belong to (a doctor who signs in opens on their own day).
  const doctors = await api.get("/api/doctors/?page_size=500&ordering=last_name").catch(() => []);
  const screen = listScreen(listBox, ctx, {
    key: "users", list: "users", path: "/api/users/", caption: "Accounts",
    columns: [{ label: "Name", sort: "name" }, { label: "Email", sort: "email" }, { label: "Role" }, { label: "Doctor" }, { label: "Status" }, { label: "", class: "actions" }],
    filters: [
      { name: "search", label: "Search", type: "search", class: "search", placeholder: "Name, email or username", autocomplete: "off" },
      { name: "role", label: "Role", type: "select", options: [["", "Any"], ...ROLES] },
      { name: "is_active", label: "Status", type: "select", options: [["", "Any"], ["true", "Active"], ["false", "Deactivated"]] },
    ],
    defaults: { search: "", role: "", is_active: "", ordering: "email" },
    emptyText: (f) => (f ? "No accounts match." : "No accounts."),
    row: (u) => userRow(u, me, doctors, () => screen.reload()),
  });

  onSubmit(form, async () => {
    const body = values(form, CREATE);
    if (!body.username) delete body.username;
    const u = await api.post("/api/users/", body);
    form.reset();
    showAlert(`Account created for ${u.email} (${roleLabel(u.role)}).`, "success");
    screen.reload();
    form.elements.name.focus();
  });
}

/** Which doctor record the account belongs to: one account per doctor. */
function doctorPicker(u, who, doctors) {
  const picker = h("select", { name: "doctor", "aria-label": `Doctor record of ${who}`, disabled: !u.is_active },
    h("option", { value: "" }, "—"),
    doctors.map((d) => h("option", { value: String(d.id), selected: d.id === u.doctor }, d.name)));
  picker.addEventListener("change", async () => {
    picker.disabled = true;
    try {
      const updated = await api.patch(`/api/users/${u.id}/`, { doctor: picker.value ? Number(picker.value) : null });
      u.doctor = updated.doctor;
      const linked = doctors.find((d) => d.id === u.doctor);
      showAlert(linked ? `${who} now signs in as ${linked.name}: Today opens on their own column.` : `${who} is no longer linked to a doctor.`, "success");
    } catch (err) {
      picker.value = u.doctor ? String(u.doctor) : "";
      alertError(err, "Could not link the account to this doctor.");
    } finally {
      picker.disabled = !u.is_active;
    }
  });
  return picker;
}

function userRow(u, me, doctors, reload) {
  const self = me && me.id === u.id;
  const who = u.name || u.username || u.email;
  const role = h("select", { name: "role", "aria-label": `Role of ${who}`, disabled: !u.is_active },
    ROLES.map(([v, l]) => h("option", { value: v, selected: v === u.role }, l)));
  role.addEventListener("change", async () => {
    if (self && role.value !== "admin") {
      const ok = await confirmDialog({
        title: "Give up your admin role?",
        message: "You will lose access to users and settings straight away.",
        confirmLabel: "Change my role", danger: true,
      });
      if (!ok) { role.value = u.role; return; }
    }
    role.disabled = true;
    try {
      const updated = await api.patch(`/api/users/${u.id}/`, { role: role.value });
      u.role = updated.role;
      showAlert(`${who} is now ${roleLabel(u.role)}.`, "success");
      if (self) {
        session.setUser(await api.get("/api/auth/me/"));
        navigate("/patients");
      }
    } catch (err) {
      role.value = u.role;
      alertError(err, "Could not change the role.");
    } finally {
      role.disabled = false;
    }
  });

  let action;
  if (u.is_active) {
    action = h("button", { type: "button", class: "btn btn-quiet btn-small btn-danger-text", dataset: { action: "deactivate" } }, "Deactivate");
    action.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Deactivate ${who}?`,
        message: self ? "This is your own account: you will be signed out." : "They will be signed out and can no longer sign in. You can reactivate the account later.",
        confirmLabel: "Deactivate", danger: true,
      });
      if (!ok) return;
      try {
        await api.del(`/api/users/${u.id}/`);
        if (self) return session.logout("manual");
        showAlert(`${who} is deactivated.`, "success");
        reload();
      } catch (err) {
        alertError(err, "Could not deactivate the account.");
      }
    });
  } else {
    action = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "activate" } }, "Reactivate");
    action.addEventListener("click", async () => {
      try {
        await api.patch(`/api/users/${u.id}/`, { is_active: true });
        showAlert(`${who} can sign in again from every computer.`, "success");
        reload();
      } catch (err) {
        alertError(err, "Could not reactivate the account.");
      }
    });
  }

  // Someone who forgot their password gets a new one from an admin (their own: "My account").
  let reset = null;
  if (u.is_active && !self) {
    reset = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "reset-password" } }, "Set password");
    reset.addEventListener("click", () => resetPassword(u, who, reload));
  }

  // Failed sign-ins never lock an account, but make the address they came from
  // wait before trying that account again; an admin can end that wait at once.
  let unlock = null;
  if (u.locked_until) {
    unlock = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "unlock" } }, "Clear sign-in delay");
    unlock.addEventListener("click", async () => {
      try {
        await api.patch(`/api/users/${u.id}/`, { locked: false });
        showAlert(`${who} can sign in again from every computer.`, "success");
        reload();
      } catch (err) {
        alertError(err, "Could not clear the sign-in delay.");
      }
    });
  }

  return h("tr", { dataset: { id: u.id } },
    h("td", {}, text(u.name), self ? [" ", badge("you", "neutral")] : null,
      u.username ? h("span", { class: "cell-sub" }, "@" + u.username) : null),
    h("td", {}, u.email, h("span", { class: "cell-sub" }, `since ${date(u.created_at)}`)),
    h("td", {}, role),
    h("td", {}, doctorPicker(u, who, doctors)),
    h("td", {}, u.is_active ? badge("Active", "ok") : badge("Deactivated", "off"),
      u.locked_until ? [" ", badge(`Sign-in delayed until ${dateTime(u.locked_until)}`, "off")] : null,
      u.must_change_password ? [" ", h("span", { class: "badge badge-warn", dataset: { role: "temporary-password" } }, "Temporary password")] : null),
    h("td", { class: "actions" }, unlock, unlock ? " " : null, reset, reset ? " " : null, action));
}

/** A dialog with the password form; PATCHes the account and says so when done. */
function resetPassword(u, who, reload) {
  const titleId = `reset-title-${u.id}`;
  const problem = h("p", { class: "field-error", dataset: { role: "dialog-error" }, "aria-live": "polite" });
  const cancel = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "cancel" } }, "Cancel");
  const form = h("form", { class: "form", dataset: { form: "password-reset" } },
    RESET.map(field), problem,
    h("div", { class: "dialog-actions" }, cancel, submitButton("Set password")));
  const pw = form.elements.password;
  pw.after(strengthMeter(pw, () => [u.email, u.name]));
  const dlg = h("dialog", { class: "dialog", "aria-labelledby": titleId },
    h("h2", { id: titleId }, `New password for ${who}`), form);
  const opener = document.activeElement;
  cancel.addEventListener("click", () => dlg.close());
  dlg.addEventListener("close", () => {
    dlg.remove();
    if (opener && opener.isConnected) opener.focus();
  });

  form.noValidate = true;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.getAttribute("aria-busy")) return;
    clearErrors(form);
    problem.textContent = "";
    form.setAttribute("aria-busy", "true");
    $('button[type="submit"]', form).disabled = true;
    try {
      await api.patch(`/api/users/${u.id}/`, values(form, RESET));
      dlg.close();
      reload();
      showAlert(form.elements.must_change_password.checked
        ? `${who} has a new password and must replace it at their next sign-in.`
        : `${who} has a new password.`, "success");
    } catch (err) {
      // The page's alert area is behind the dialog: problems are shown in it.
      const rest = err && err.errors ? showErrors(form, err.errors) : [err.message];
      problem.textContent = rest.join(" ");
    } finally {
      form.removeAttribute("aria-busy");
      $('button[type="submit"]', form).disabled = false;
    }
  });

  document.body.append(dlg);
  dlg.showModal();
  pw.focus();
}
