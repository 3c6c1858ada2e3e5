// Today: the clinic's day on one board, a column per doctor in time order,
// each appointment with its status and the one-click moves valid for it
// (Arrived, Start, Complete, No-show, Cancel), and Move for a booked one
// (the Book screen, moving it). A walk-in starts now. Another
// day through the date picker (?date=YYYY-MM-DD). The board polls every
// 10 seconds (not while the tab is hidden), so two desks see the same day.
// A doctor's own account opens on their column and has "My next patient".

import { h, $, $$ } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { field, showErrors, clearErrors, submitButton } from "../forms.js";
import { pageHeader, setTitle, showAlert, alertError } from "../ui.js";
import { personName } from "../fmt.js";
import {
  movesFor, move, cancelDialog, statusChip, clock, day, dayLabel, addDays, learnOffset, clinicToday,
  patientOf, doctorName, waitText, clashText, patientPicker, ACTIVE,
} from "../appointments.js";

/** How often the board asks for changes. */
const POLL_MS = 10_000;

const isDate = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || "");

/** The account's own doctor id (`me.doctor`), asked for once if the cached user lacks it. */
async function myDoctor(signal) {
  let me = session.currentUser();
  if (me && me.doctor === undefined) {
    try {
      me = await api.get("/api/auth/me/", { signal });
      session.setUser(me);
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
    }
  }
  return me && me.doctor ? Number(me.doctor) : null;
}

export default async function todayView(el, ctx) {
  const asked = isDate(ctx.query.get("date")) ? ctx.query.get("date") : null;
  const mine = await myDoctor(ctx.signal);
  const names = new Map(); // doctor id → doctor (for columns without appointments and clash sentences)
  let items = [];
  let shownDate = asked || clinicToday();
  let lastJson = null;

  const isToday = () => !asked || asked === clinicToday();
  const title = () => (isToday() ? "Today" : dayLabel(shownDate, { long: true }));
  setTitle(title());

  // ---- the header: date picker, walk-in, next patient, book ----
  const dateInput = h("input", { type: "date", name: "date", value: shownDate, "aria-label": "Show the day", class: "date-input" });
  dateInput.addEventListener("change", () => {
    const v = dateInput.value;
    if (isDate(v)) navigate(v === clinicToday() ? "/today" : `/today?date=${v}`);
  });
  const actions = [
    h("form", { class: "day-picker", dataset: { form: "day" }, on: { submit: (e) => e.preventDefault() } },
      h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": "Previous day", dataset: { action: "prev-day" }, on: { click: () => step(-1) } }, "‹"),
      dateInput,
      h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": "Next day", dataset: { action: "next-day" }, on: { click: () => step(1) } }, "›"),
      asked && !isToday() ? h("a", { class: "btn btn-quiet btn-small", href: "/today", dataset: { action: "go-today" } }, "Today") : null),
  ];
  if (mine && isToday()) {
    actions.push(h("button", { type: "button", class: "btn", dataset: { action: "next-patient" }, on: { click: nextPatient } }, "My next patient"));
  }
  if (isToday()) {
    actions.push(h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "walk-in" }, on: { click: () => walkIn() } }, "Walk-in"));
  }
  actions.push(h("a", { class: "btn btn-quiet", href: "/book", dataset: { action: "book" } }, "Book"));

  const header = pageHeader(title(), { sub: dayLabel(shownDate, { long: true }), actions });
  const sub = $(".page-title .muted", header);
  const board = h("div", { class: "board", dataset: { board: "", state: "loading" }, "aria-busy": "true" },
    h("p", { class: "loading-text" }, "Loading the day…"));
  // Tells screen-reader users when another desk changed the board.
  const announce = h("p", { class: "visually-hidden", role: "status" });
  el.append(header, announce, board);

  function step(n) {
    const next = addDays(shownDate, n);
    navigate(next === clinicToday() ? "/today" : `/today?date=${next}`);
  }

  // ---- loading and polling ----
  let seq = 0;
  async function load({ quiet = false } = {}) {
    const n = ++seq;
    try {
      const query = { date: asked || "today", page_size: 500, ordering: "start" };
      const { items: got } = await api.list("/api/appointments/", query, { signal: ctx.signal });
      if (n !== seq) return;
      for (const a of got) {
        learnOffset(a.start);
        if (a.doctor_details) names.set(Number(a.doctor), a.doctor_details);
      }
      if (!asked && got.length) shownDate = day(got[0].start);
      else if (!asked) shownDate = clinicToday();
      sub.textContent = dayLabel(shownDate, { long: true });
      if (dateInput !== document.activeElement) dateInput.value = shownDate;
      const json = JSON.stringify(got);
      if (json === lastJson) return;
      const changed = lastJson !== null;
      lastJson = json;
      items = got;
      if (mine && !names.has(mine)) await nameDoctor(mine);
      render();
      if (changed && quiet) announce.textContent = "The board has changed.";
    } catch (err) {
      if ((err && err.name === "AbortError") || n !== seq) return;
      if (quiet) return; // a failed poll keeps the last board; the next one tries again
      board.dataset.state = "error";
      board.removeAttribute("aria-busy");
      board.replaceChildren(h("div", { class: "state-panel", role: "alert" },
        h("p", {}, `Could not load the day. ${err.message}`),
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "retry" }, on: { click: () => load() } }, "Try again")));
    }
  }

  async function nameDoctor(id) {
    try {
      names.set(id, await api.get(`/api/doctors/${id}/`, { signal: ctx.signal }));
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
    }
  }

  const timer = setInterval(() => { if (!document.hidden) load({ quiet: true }); }, POLL_MS);
  const onVisible = () => { if (!document.hidden) load({ quiet: true }); };
  document.addEventListener("visibilitychange", onVisible);
  ctx.signal.addEventListener("abort", () => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", onVisible);
  });

  // ---- the board ----
  function columns() {
    const byDoctor = new Map();
    if (mine) byDoctor.set(mine, []);
    for (const a of items) {
      const id = Number(a.doctor);
      if (!byDoctor.has(id)) byDoctor.set(id, []);
      byDoctor.get(id).push(a);
    }
    const name = (id) => personName(names.get(id) || { id });
    // The doctor's own column first, then by name.
    return [...byDoctor.entries()].sort(([a], [b]) => (b === mine) - (a === mine) || name(a).localeCompare(name(b)));
  }

  function render() {
    // Keep the keyboard where it was: the same button, else the same card.
    const focused = document.activeElement;
    const focusCard = board.contains(focused) ? focused.closest("[data-id]")?.dataset.id : null;
    const focusAction = focusCard ? focused.dataset.action : null;

    const cols = columns();
    board.removeAttribute("aria-busy");
    if (!cols.length) {
      board.dataset.state = "empty";
      board.replaceChildren(h("div", { class: "state-panel", dataset: { state: "empty" } },
        h("p", {}, isToday() ? "No appointments today yet." : "No appointments on this day."),
        h("p", { class: "muted" }, "Book one with “Book”", isToday() ? ", or add a walk-in." : ".")));
      return;
    }
    board.dataset.state = "ready";
    board.replaceChildren(...cols.map(([id, list]) => column(id, list)));

    if (focusCard) {
      const card = $(`[data-id="${CSS.escape(focusCard)}"]`, board);
      const target = card && (card.querySelector(`[data-action="${CSS.escape(focusAction || "")}"]`) || card.querySelector("button"));
      if (target) target.focus({ preventScroll: true });
    }
  }

  function column(id, list) {
    const d = names.get(id);
    const dname = d ? doctorName(d) : `Doctor #${id}`;
    const headId = `col-${id}`;
    const waiting = list.filter((a) => a.status === "arrived").length;
    const active = list.filter((a) => ACTIVE.includes(a.status)).length;
    return h("section", { class: ["board-col", id === mine && "mine"], dataset: { doctorId: id }, "aria-labelledby": headId },
      h("div", { class: "board-col-head" },
        h("h2", { id: headId }, d ? h("a", { href: `/doctors/${id}` }, dname) : dname,
          id === mine ? h("span", { class: "badge badge-role" }, "You") : null),
        h("p", { class: "muted small" }, `${active} to see`, waiting ? ` · ${waiting} waiting` : ""),
        h("a", {
          class: "btn btn-quiet btn-small no-print", href: `/today/print?doctor=${id}&date=${shownDate}`,
          dataset: { action: "print-day" }, "aria-label": `Day sheet of ${dname}`,
        }, "Day sheet")),
      list.length
        ? h("ol", { class: "appt-list", "aria-label": `Appointments of ${dname}` }, list.map(card))
        : h("p", { class: "muted appt-empty" }, "No appointments."));
  }

  function card(a) {
    const who = patientOf(a);
    const wait = waitText(a);
    const when = `${clock(a.start)}–${clock(a.end)}`;
    return h("li", { class: ["appt", "appt-" + a.status], dataset: { id: a.id, status: a.status, patientId: a.patient } },
      h("div", { class: "appt-time" }, h("span", { class: "appt-clock" }, when),
        a.kind === "walk_in" ? h("span", { class: "badge badge-neutral" }, "Walk-in") : null),
      h("div", { class: "appt-who" },
        h("a", { href: `/patients/${a.patient}` }, who),
        a.reason ? h("span", { class: "cell-sub", dataset: { field: "reason" } }, a.reason) : null),
      h("div", { class: "appt-state" }, statusChip(a.status),
        wait ? h("span", { class: ["appt-wait", a.status === "arrived" && a.wait_minutes >= 30 && "long"], dataset: { field: "wait" } }, wait) : null),
      h("div", { class: "appt-actions no-print" }, movesFor(a.status).map((m) => h("button", {
        type: "button", class: ["btn", "btn-small", m.to === "cancelled" || m.to === "no_show" ? "btn-quiet" : null],
        dataset: { action: m.action }, "aria-label": `${m.label}: ${who}, ${when}`,
        on: { click: (e) => act(a, m, e.currentTarget) },
      }, m.label)),
      // Another time or doctor: the Book screen, moving this appointment.
      a.status === "booked"
        ? h("a", { class: "btn btn-small btn-quiet", href: `/book?move=${a.id}`, dataset: { action: "move" }, "aria-label": `Move: ${who}, ${when}` }, "Move")
        : null));
  }

  async function act(a, m, button) {
    let reason;
    if (m.to === "cancelled") {
      const answer = await cancelDialog(a);
      if (!answer) return;
      reason = answer.reason;
    }
    const buttons = $$("button", button.closest(".appt-actions"));
    for (const b of buttons) b.disabled = true;
    try {
      await move(a, m.to, reason);
      showAlert(`${patientOf(a)} ${m.done}.`, "success");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      // Most often another desk was quicker: the board shows where it is now.
      alertError(err, "Could not change the status.");
    }
    for (const b of buttons) b.disabled = false;
    await load();
  }

  /** The first patient waiting for this doctor: Start. */
  async function nextPatient() {
    await load();
    const next = items.find((a) => Number(a.doctor) === mine && a.status === "arrived");
    if (!next) {
      showAlert("Nobody is waiting for you right now.", "info");
      return;
    }
    const startMove = movesFor("arrived").find((m) => m.to === "in_progress");
    const btn = $(`[data-id="${next.id}"] [data-action="start"]`, board);
    if (btn) await act(next, startMove, btn);
  }

  // ---- walk-in ----
  async function walkIn() {
    const dlgTitle = "walkin-title";
    const message = h("p", { class: "dialog-error", role: "alert", dataset: { role: "dialog-error" }, hidden: true });
    const picker = patientPicker({ signal: ctx.signal, onPick: () => form.elements.doctor.focus() });
    const doctorField = field({ name: "doctor", label: "Doctor", type: "select", options: [["", "Loading doctors…"]], required: true });
    const anyway = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "walk-in-anyway" }, hidden: true }, "Add anyway");
    const form = h("form", { class: "form", dataset: { form: "walk-in" } },
      h("h2", { id: dlgTitle }, "Walk-in"),
      h("p", { class: "muted" }, "The patient is here now: the visit starts at once, as arrived."),
      picker.el, doctorField,
      field({ name: "reason", label: "Reason (optional)", autocomplete: "off" }),
      message,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "cancel" }, on: { click: () => dlg.close() } }, "Close"),
        anyway,
        submitButton("Add walk-in")));
    form.noValidate = true;
    const dlg = h("dialog", { class: "dialog dialog-wide", "aria-labelledby": dlgTitle, dataset: { dialog: "walk-in" } }, form);
    const opener = document.activeElement;
    dlg.addEventListener("close", () => { dlg.remove(); if (opener && opener.isConnected) opener.focus(); });
    document.body.append(dlg);
    dlg.showModal();
    picker.focus();

    let doctors = [];
    try {
      doctors = await api.all("/api/doctors/", { ordering: "last_name" }, { signal: ctx.signal });
      for (const d of doctors) names.set(Number(d.id), d);
      const sel = form.elements.doctor;
      sel.replaceChildren(h("option", { value: "" }, doctors.length ? "Choose a doctor…" : "No doctors yet"),
        ...doctors.map((d) => h("option", { value: d.id, selected: Number(d.id) === mine || doctors.length === 1 },
          doctorName(d) + (d.specialization ? ` — ${d.specialization}` : "") + (d.is_available === false ? " (not available)" : ""))));
    } catch (err) {
      if (err && err.name === "AbortError") return;
      form.elements.doctor.replaceChildren(h("option", { value: "" }, "Could not load doctors"));
    }

    async function submit(override) {
      clearErrors(form);
      message.hidden = true;
      anyway.hidden = true;
      const patient = picker.value();
      const doctor = form.elements.doctor.value;
      const body = {
        kind: "walk_in", patient: patient ? patient.id : null, doctor: doctor ? Number(doctor) : null,
        reason: form.elements.reason.value.trim(),
      };
      if (override) body.override = true;
      form.setAttribute("aria-busy", "true");
      try {
        await api.post("/api/appointments/", body);
        dlg.close();
        showAlert(`${personName(patient)} is here for ${doctorName(names.get(body.doctor))}.`, "success");
        await load();
      } catch (err) {
        if (err && err.name === "AbortError") return;
        if (err.errors) {
          const rest = showErrors(form, err.errors, { patient_id: "patient", doctor_id: "doctor" });
          if (rest.length) { message.textContent = rest.join(" "); message.hidden = false; }
        } else {
          message.textContent = err.code === "slot_taken"
            ? clashText(err, { doctors: names, doctor: body.doctor, patient })
            : err.message;
          message.hidden = false;
          // Staff may squeeze a walk-in in over a booking; the trail records it.
          anyway.hidden = !(err.code === "slot_taken" && session.canEditDoctors());
        }
      } finally {
        form.removeAttribute("aria-busy");
      }
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); if (!form.getAttribute("aria-busy")) submit(false); });
    anyway.addEventListener("click", () => submit(true));
  }

  await load();
}
