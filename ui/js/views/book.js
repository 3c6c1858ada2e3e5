// Book an appointment: pick the patient by search, the doctor, a day or a
// week, and one of the doctor's free times (Enter or a click on it books).
// ?patient=<id> and ?doctor=<id> preselect (the patient's page links here).
// ?move=<id> moves a booked appointment instead (the board and the patient's
// page link here): the same patient and length, the doctor kept unless
// changed, and the new time picked the same way; the old time is freed.
// A clash is said in words ("Dr Grey already has an appointment 09:00–09:15");
// staff and admins may book over it, which the audit trail records.

import { h, $$ } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { field, showErrors, clearErrors, formError } from "../forms.js";
import { pageHeader, setTitle, showAlert, clearAlert } from "../ui.js";
import { parseDay, personName } from "../fmt.js";
import {
  clock, day, dayLabel, span, learnOffset, clinicToday, doctorName, clashText, patientPicker, patientOf,
  ACTIVE, STATUS_LABELS,
} from "../appointments.js";

const ALIASES = { patient_id: "patient", doctor_id: "doctor", end: "start", duration: "start" };

/** The appointment `?move=` names, if it can be moved; otherwise says why and is null. */
async function toMove(id, signal) {
  if (!/^\d+$/.test(id || "")) return null;
  let a;
  try {
    a = await api.get(`/api/appointments/${id}/`, { signal });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    showAlert("The appointment to move could not be opened; book a new time instead.", "error");
    return null;
  }
  if (!ACTIVE.includes(a.status)) {
    const status = (STATUS_LABELS[a.status] || a.status).toLowerCase();
    showAlert(`${patientOf(a)}’s appointment of ${span(a)} is ${status}, so it cannot be moved; book a new time instead.`, "error");
    return null;
  }
  return a;
}

export default async function bookView(el, ctx) {
  let moving = await toMove(ctx.query.get("move"), ctx.signal);
  const heading = moving ? "Move an appointment" : "Book an appointment";
  setTitle(heading);
  const wantPatient = moving ? null : ctx.query.get("patient");
  const wantDoctor = moving ? String(moving.doctor) : ctx.query.get("doctor");
  let initial = moving ? { id: moving.patient, ...moving.patient_details } : null;
  if (/^\d+$/.test(wantPatient || "")) {
    try {
      initial = await api.get(`/api/patients/${wantPatient}/`, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      showAlert("The patient from the link could not be opened; search for them instead.", "error");
    }
  }

  const doctors = new Map();
  const picker = patientPicker({ signal: ctx.signal, initial, fixed: Boolean(moving), onPick: () => form.elements.doctor.focus() });
  // A move keeps its day if that is still ahead, and its length.
  const firstDay = moving && day(moving.start) > clinicToday() ? day(moving.start) : clinicToday();
  const form = h("form", { class: "form section book-form", dataset: { form: "book" } },
    h("div", { class: "form-grid" },
      h("div", { class: "wide-2" }, picker.el),
      field({ name: "doctor", label: "Doctor", type: "select", required: true, options: [["", "Loading doctors…"]] }),
      field({ name: "date", label: "From", type: "day", value: firstDay, required: true }),
      field({ name: "days", label: "Show", type: "select", value: "7", options: [["1", "One day"], ["7", "A week"]] }),
      moving ? null : field({ name: "reason", label: "Reason (optional)", autocomplete: "off" })));
  form.noValidate = true;
  form.addEventListener("submit", (e) => e.preventDefault());

  const slotsBox = h("div", { class: "slots", dataset: { slots: "", state: "idle" }, "aria-live": "polite" });
  const startError = h("p", { class: "field-error", dataset: { errorFor: "start" }, "aria-live": "polite" });
  const outcome = h("div", { class: "book-outcome", dataset: { role: "outcome" } });
  const slotsSection = h("section", { class: "section", "aria-labelledby": "slots-h" },
    h("div", { class: "section-head" }, h("h2", { id: "slots-h" }, "Free times"),
      h("span", { class: "muted small" }, moving ? "Enter or a click on a time moves it there." : "Enter or a click on a time books it.")),
    outcome, startError, slotsBox);
  // The error slot for `start` lives with the slots; forms.js finds it inside the form.
  form.append(slotsSection);

  const nowText = (a) => `Currently booked: ${span(a)} with ${doctorName(a.doctor_details)}${a.reason ? ` (${a.reason})` : ""}.`;
  const nowLine = moving
    ? h("p", { class: "moving", dataset: { role: "moving", appointmentId: moving.id } }, nowText(moving))
    : null;
  el.append(pageHeader(heading, {
    sub: "Times are the clinic’s local time.",
    actions: [h("a", { class: "btn btn-quiet", href: "/today", dataset: { action: "today" } }, "Today")],
  }), ...[nowLine, form].filter(Boolean));

  const sel = form.elements.doctor;
  try {
    const list = await api.all("/api/doctors/", { ordering: "last_name" }, { signal: ctx.signal });
    for (const d of list) doctors.set(Number(d.id), d);
    const keep = wantDoctor || (list.length === 1 ? String(list[0].id) : "");
    sel.replaceChildren(h("option", { value: "" }, list.length ? "Choose a doctor…" : "No doctors yet"),
      ...list.map((d) => h("option", { value: d.id, selected: String(d.id) === keep },
        doctorName(d) + (d.specialization ? ` — ${d.specialization}` : "") + (d.is_available === false ? " (not available)" : ""))));
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    sel.replaceChildren(h("option", { value: "" }, "Could not load doctors"));
  }

  for (const name of ["doctor", "date", "days"]) form.elements[name].addEventListener("change", () => loadSlots());

  let seq = 0;
  let slots = [];
  async function loadSlots() {
    const n = ++seq;
    clearErrors(form);
    const doctor = sel.value;
    // Typed in the clinic's date format; a day it cannot read goes as typed,
    // and the server's answer is shown beside the field.
    const typed = form.elements.date.value.trim();
    const date = parseDay(typed) ?? typed;
    if (!doctor) {
      slotsBox.dataset.state = "idle";
      slotsBox.replaceChildren(h("p", { class: "muted" }, "Choose a doctor to see their free times."));
      return;
    }
    slotsBox.dataset.state = "loading";
    slotsBox.replaceChildren(h("p", { class: "loading-text" }, "Loading free times…"));
    try {
      const query = { date, days: form.elements.days.value };
      if (moving) query.duration = moving.duration_minutes;
      slots = await api.get(`/api/doctors/${doctor}/slots/`, { query, signal: ctx.signal });
      if (n !== seq) return;
    } catch (err) {
      if ((err && err.name === "AbortError") || n !== seq) return;
      slotsBox.dataset.state = "error";
      if (err.errors) showErrors(form, err.errors, { ...ALIASES, date: "date", days: "days" });
      slotsBox.replaceChildren(h("p", { role: "alert", class: "field-error" }, `Could not load the free times. ${err.message}`));
      return;
    }
    renderSlots();
  }

  function renderSlots() {
    const d = doctors.get(Number(sel.value));
    if (!slots.length) {
      slotsBox.dataset.state = "empty";
      slotsBox.replaceChildren(h("p", { class: "muted" },
        `${doctorName(d)} has no free time ${form.elements.days.value === "1" ? "on this day" : "in these seven days"}. `,
        "Their weekly hours and time off are on the doctor’s page."));
      return;
    }
    const byDay = new Map();
    for (const s of slots) {
      learnOffset(s.start);
      const key = day(s.start);
      if (!byDay.has(key)) byDay.set(key, []);
      byDay.get(key).push(s);
    }
    slotsBox.dataset.state = "ready";
    slotsBox.replaceChildren(...[...byDay.entries()].map(([date, list]) => {
      const headId = `slots-${date}`;
      return h("div", { class: "slot-day", dataset: { date } },
        h("h3", { id: headId }, dayLabel(date, { long: true })),
        h("div", { class: "slot-grid", role: "group", "aria-labelledby": headId }, list.map((s) => h("button", {
          type: "button", class: "slot", dataset: { action: "book-slot", start: s.start },
          "aria-label": `${moving ? "Move to" : "Book"} ${clock(s.start)} on ${dayLabel(date)}`,
          on: { click: () => save(s.start), keydown: arrows },
        }, clock(s.start)))));
    }));
  }

  // Arrow keys move between the times (the grid reads left to right, top to bottom).
  function arrows(e) {
    const all = $$("button.slot", slotsBox);
    const i = all.indexOf(e.currentTarget);
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (to === undefined || !all[to]) return;
    e.preventDefault();
    all[to].focus();
  }

  let busy = false;
  /** Books `start` (or, moving, moves the appointment there); `override` books over a clash. */
  async function save(start, override = false) {
    if (busy) return;
    busy = true;
    clearErrors(form);
    clearAlert();
    outcome.replaceChildren();
    const patient = picker.value();
    const doctor = sel.value ? Number(sel.value) : null;
    const body = moving
      ? { start, duration: moving.duration_minutes, doctor }
      : { patient: patient ? patient.id : null, doctor, start, reason: form.elements.reason.value.trim() };
    if (override) body.override = true;
    form.setAttribute("aria-busy", "true");
    try {
      const a = moving
        ? await api.patch(`/api/appointments/${moving.id}/`, body)
        : await api.post("/api/appointments/", body);
      learnOffset(a.start);
      const who = a.patient_details ? personName(a.patient_details) : personName(patient);
      const dr = a.doctor_details ? doctorName(a.doctor_details) : doctorName(doctors.get(doctor));
      const done = moving ? `${who} is moved to ${span(a)} with ${dr}.` : `${who} is booked with ${dr}, ${span(a)}.`;
      showAlert(moving ? `Moved: ${who} to ${span(a)} with ${dr}.` : `Booked: ${who} with ${dr}, ${span(a)}.`, "success");
      outcome.replaceChildren(h("p", { class: "booked", dataset: { role: moving ? "moved" : "booked", appointmentId: a.id } },
        `${done} `,
        h("a", { href: day(a.start) === clinicToday() ? "/today" : `/today?date=${day(a.start)}` }, "See the day"), " · ",
        h("a", { href: `/patients/${a.patient}` }, "Patient’s page")));
      if (moving) {
        moving = a;
        nowLine.replaceChildren(nowText(a));
      } else {
        form.elements.reason.value = "";
      }
      await loadSlots();
      outcome.querySelector("a")?.focus();
    } catch (err) {
      if (err && err.name === "AbortError") return;
      if (err.code === "slot_taken") {
        const words = clashText(err, { doctors, doctor, patient });
        showAlert(words, "error");
        const anyway = session.canEditDoctors()
          ? h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "book-anyway" }, on: { click: () => save(start, true) } },
            `${moving ? "Move to" : "Book"} ${clock(start)} anyway`)
          : null;
        outcome.replaceChildren(h("div", { class: "clash", role: "alert", dataset: { role: "clash" } }, h("p", {}, words), anyway));
        await loadSlots();
        (anyway || $$("button.slot", slotsBox)[0])?.focus();
      } else {
        formError(form, err, ALIASES);
      }
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  }

  loadSlots();
  if (initial) sel.focus();
  else picker.focus();
}
