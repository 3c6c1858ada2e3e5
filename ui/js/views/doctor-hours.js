// On a doctor's page: the weekly hours (rows of weekday, from, to; save
// replaces the whole week) and the time off (add, delete). Admin and staff
// edit; a `user` reads. Hours are the clinic's local wall-clock times.

import { h, $, $$ } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { showAlert, alertError, confirmDialog, dataTable, stateRow } from "../ui.js";
import { text, personName } from "../fmt.js";
import { clock, day, dayLabel, learnOffset } from "../appointments.js";

export const WEEKDAYS = [
  [1, "Monday"], [2, "Tuesday"], [3, "Wednesday"], [4, "Thursday"], [5, "Friday"], [6, "Saturday"], [7, "Sunday"],
];
const weekday = (n) => (WEEKDAYS.find(([v]) => v === Number(n)) || [n, `Day ${n}`])[1];

const byTime = (a, b) => a.weekday - b.weekday || a.start.localeCompare(b.start);

// ---- weekly hours ----

export function hoursSection(d, ctx) {
  const canEdit = session.canEditDoctors();
  const box = h("div", { class: "hours-box", dataset: { state: "loading" } }, h("p", { class: "loading-text" }, "Loading hours…"));
  const section = h("section", { class: "section", "aria-labelledby": "hours-h", dataset: { section: "hours" } },
    h("div", { class: "section-head" }, h("h2", { id: "hours-h" }, "Weekly hours"),
      h("span", { class: "muted small" }, d.appointment_minutes ? `Appointments of ${d.appointment_minutes} minutes` : null)),
    box);

  async function load() {
    let hours;
    try {
      hours = await api.get(`/api/doctors/${d.id}/hours/`, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === "AbortError") return;
      box.dataset.state = "error";
      box.replaceChildren(h("p", { class: "field-error", role: "alert" }, `Could not load the hours. ${err.message}`),
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "retry" }, on: { click: load } }, "Try again"));
      return;
    }
    hours = [...(hours || [])].sort(byTime);
    box.dataset.state = "ready";
    box.replaceChildren(canEdit ? editor(hours) : readOnly(hours));
  }

  function readOnly(hours) {
    if (!hours.length) return h("p", { class: "muted", dataset: { state: "empty" } }, "No weekly hours yet: the doctor cannot be booked.");
    return h("dl", { class: "hours-list" }, WEEKDAYS.filter(([n]) => hours.some((b) => b.weekday === n)).map(([n, name]) =>
      h("div", { dataset: { weekday: n } }, h("dt", {}, name),
        h("dd", {}, hours.filter((b) => b.weekday === n).map((b) => `${b.start}–${b.end}`).join(", ")))));
  }

  function editor(hours) {
    const rows = h("ol", { class: "hours-rows", "aria-label": "Blocks of the week" });
    const empty = h("p", { class: "muted" }, "No weekly hours yet: the doctor cannot be booked. Add the first block.");
    const add = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "add-hours" } }, "Add hours");
    const form = h("form", { class: "hours-form", dataset: { form: "hours" } },
      empty, rows,
      h("p", { class: "field-error", dataset: { errorFor: "hours" }, "aria-live": "polite" }),
      h("div", { class: "form-actions" }, add, submitButton("Save hours")));

    const sync = () => { empty.hidden = rows.children.length > 0; };
    function row(b) {
      const li = h("li", { class: "hours-row", dataset: { row: "" } },
        h("select", { name: "weekday", "aria-label": "Day" }, WEEKDAYS.map(([v, l]) => h("option", { value: v, selected: v === Number(b.weekday) }, l))),
        h("input", { type: "time", name: "start", value: b.start || "", "aria-label": "From", required: true }),
        h("span", { "aria-hidden": "true" }, "–"),
        h("input", { type: "time", name: "end", value: b.end || "", "aria-label": "To", required: true }),
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "remove-hours" }, "aria-label": "Remove this block", title: "Remove this block" }, "×"),
        h("p", { class: "field-error row-error", "aria-live": "polite" }));
      $('[data-action="remove-hours"]', li).addEventListener("click", () => {
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        sync();
        (next ? $("select", next) : add).focus();
      });
      return li;
    }
    rows.append(...hours.map(row));
    sync();

    add.addEventListener("click", () => {
      // A new block copies the last one onto the next day: Monday to Friday is four clicks.
      const last = rows.lastElementChild;
      const prev = last ? { weekday: Number($('[name="weekday"]', last).value), start: $('[name="start"]', last).value, end: $('[name="end"]', last).value } : null;
      const b = prev ? { weekday: prev.weekday % 7 + 1, start: prev.start, end: prev.end } : { weekday: 1, start: "09:00", end: "17:00" };
      const li = row(b);
      rows.append(li);
      sync();
      $("select", li).focus();
    });

    onSubmit(form, async () => {
      for (const e of $$(".row-error", rows)) e.textContent = "";
      for (const e of $$('[aria-invalid="true"]', rows)) e.removeAttribute("aria-invalid");
      const week = $$("li", rows).map((li) => ({
        weekday: Number($('[name="weekday"]', li).value),
        start: $('[name="start"]', li).value,
        end: $('[name="end"]', li).value,
      }));
      try {
        const saved = await api.put(`/api/doctors/${d.id}/hours/`, week);
        showAlert(`The weekly hours of ${personName(d)} are saved.`, "success");
        const again = Array.isArray(saved) ? saved : week;
        rows.replaceChildren(...[...again].sort(byTime).map(row));
        sync();
      } catch (err) {
        // A bad block is named by its place in the week (errors["2"], errors["hours[2]"], …): mark that row.
        if (err && err.errors) {
          const rest = {};
          for (const [key, msgs] of Object.entries(err.errors)) {
            const at = /(\d+)/.exec(key);
            const li = at ? rows.children[Number(at[1])] : null;
            if (!li) { rest[key] = msgs; continue; }
            $(".row-error", li).textContent = [].concat(msgs).join(" ");
            for (const input of $$("select, input", li)) input.setAttribute("aria-invalid", "true");
          }
          const first = $('[aria-invalid="true"]', rows);
          if (first) first.focus();
          err.errors = Object.keys(rest).length ? rest : { hours: [err.message] };
        }
        throw err;
      }
    });
    return form;
  }

  load();
  return section;
}

// ---- time off ----

const OFF_SPECS = [
  { name: "start", label: "From", type: "datetime-local", required: true },
  { name: "end", label: "To", type: "datetime-local", required: true },
  { name: "reason", label: "Reason (optional)", autocomplete: "off", placeholder: "Holiday, course…" },
];

const when = (iso) => `${dayLabel(day(iso))} ${clock(iso)}`;

export function timeOffSection(d, ctx) {
  const canEdit = session.canEditDoctors();
  const table = dataTable("time-off", [
    { label: "From" }, { label: "To" }, { label: "Reason" }, ...(canEdit ? [{ label: "", class: "actions" }] : []),
  ], { caption: "Time off" });

  async function load() {
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    let list;
    try {
      list = await api.all(`/api/doctors/${d.id}/time-off/`, {}, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === "AbortError") return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the time off. ${err.message}`, load);
      return;
    }
    // Past absences are history; the list is for planning.
    const now = Date.now();
    const coming = list.filter((t) => Date.parse(t.end) > now).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    if (!coming.length) {
      table.table.dataset.state = "empty";
      stateRow(table.tbody, table.cols, "empty", "No time off planned.");
      return;
    }
    for (const t of coming) learnOffset(t.start);
    table.table.dataset.state = "ready";
    table.tbody.replaceChildren(...coming.map((t) => h("tr", { dataset: { id: t.id } },
      h("td", { class: "nowrap" }, when(t.start)),
      h("td", { class: "nowrap" }, when(t.end)),
      h("td", {}, text(t.reason)),
      canEdit ? h("td", { class: "actions" }, h("button", {
        type: "button", class: "btn btn-quiet btn-small", dataset: { action: "delete-time-off" },
        "aria-label": `Delete the time off from ${when(t.start)}`, on: { click: () => remove(t) },
      }, "Delete")) : null)));
  }

  async function remove(t) {
    const ok = await confirmDialog({
      title: "Delete this time off?",
      message: `${when(t.start)} to ${when(t.end)}${t.reason ? ` (${t.reason})` : ""}. Those hours can be booked again.`,
      confirmLabel: "Delete", danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/api/doctors/${d.id}/time-off/${t.id}/`);
      showAlert("The time off is deleted.", "success");
      load();
    } catch (err) {
      alertError(err, "Could not delete the time off.");
    }
  }

  let form = null;
  if (canEdit) {
    form = h("form", { class: "inline-form", dataset: { form: "time-off" } },
      OFF_SPECS.map(field),
      h("div", { class: "form-actions" }, submitButton("Add time off")));
    onSubmit(form, async () => {
      // datetime-local gives 2027-03-29T09:00, which the API takes as clinic local time.
      await api.post(`/api/doctors/${d.id}/time-off/`, values(form, OFF_SPECS));
      form.reset();
      showAlert(`Time off added for ${personName(d)}.`, "success");
      await load();
      form.elements.start.focus();
    });
  }

  load();
  return h("section", { class: "section", "aria-labelledby": "off-h", dataset: { section: "time-off" } },
    h("div", { class: "section-head" }, h("h2", { id: "off-h" }, "Time off")),
    table.wrap, form);
}
