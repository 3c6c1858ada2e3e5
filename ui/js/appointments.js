// What the appointment screens share: statuses and the moves between them,
// clinic wall-clock times, the clinic's calendar day, the words for a clash,
// and the patient search box.
//
// Times arrive as RFC 3339 with the clinic's offset (2027-03-29T09:00:00+02:00).
// The browser may be in another zone than the clinic, so a time is never
// converted with `Date`: its wall-clock part is shown as sent.

import { h, $$, append, debounce } from "./dom.js";
import * as api from "./api.js";
import * as clinicSettings from "./clinic.js";
import { memo } from "./store.js";
import { personName, DASH } from "./fmt.js";

export const STATUS_LABELS = {
  booked: "Booked", arrived: "Arrived", in_progress: "In progress",
  completed: "Completed", cancelled: "Cancelled", no_show: "No-show",
};
export const ACTIVE = ["booked", "arrived", "in_progress"];

/**
 * The one-click moves of the board, in the order they are offered. `to` is
 * the status sent to POST /api/appointments/<id>/status/; `from` where it is allowed.
 */
export const MOVES = [
  { action: "arrive", label: "Arrived", to: "arrived", from: ["booked"], done: "has arrived" },
  { action: "start", label: "Start", to: "in_progress", from: ["arrived"], done: "is with the doctor" },
  { action: "complete", label: "Complete", to: "completed", from: ["in_progress"], done: "is done" },
  { action: "no-show", label: "No-show", to: "no_show", from: ["booked"], done: "did not come" },
  { action: "cancel", label: "Cancel", to: "cancelled", from: ["booked", "arrived"], done: "is cancelled" },
];

export const movesFor = (status) => MOVES.filter((m) => m.from.includes(status));

/** A status chip: `span.chip.chip-<status>[data-status]`. */
export function statusChip(status) {
  return h("span", { class: ["chip", "chip-" + status], dataset: { status } }, STATUS_LABELS[status] || status);
}

// ---- clinic wall-clock time ----

/** "09:00" from "2027-03-29T09:00:00+02:00" (the clinic's local time, as sent). */
export function clock(iso) {
  return typeof iso === "string" && iso.length >= 16 ? iso.slice(11, 16) : DASH;
}

/** "2027-03-29" from an RFC 3339 time (the clinic's local day, as sent). */
export function day(iso) {
  return typeof iso === "string" ? iso.slice(0, 10) : "";
}

/** A calendar day (YYYY-MM-DD) in words, e.g. "Mon, 29 Mar 2027"; `long` spells it out. */
export function dayLabel(ymd, { long = false, year = true } = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || "");
  if (!m) return DASH;
  // Noon UTC formatted in UTC: the same calendar day whatever the browser's zone.
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
  return d.toLocaleDateString(undefined, {
    timeZone: "UTC", weekday: long ? "long" : "short", day: "numeric", month: long ? "long" : "short",
    year: year ? "numeric" : undefined,
  });
}

/** "Mon, 29 Mar 2027, 09:00–09:15". */
export function span(a) {
  return `${dayLabel(day(a.start))}, ${clock(a.start)}–${clock(a.end)}`;
}

/** YYYY-MM-DD `n` days after `ymd`. */
export function addDays(ymd, n) {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// ---- the clinic's calendar day ----
// The server decides what "today" is (`date=today`). Where the UI needs the
// date itself (a date picker's first value) it uses the clinic's zone (read
// at sign-in from /api/settings/clinic, clinic.js, which the router waits
// for before any screen), else the clinic's offset
// seen in any time the API sent, else the browser's own day.

const clinic = () => memo("clinic-time", () => ({ offset: null }));

/** Remembers the clinic's UTC offset from an RFC 3339 time the API sent. */
export function learnOffset(iso) {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(iso || "");
  if (m) clinic().offset = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  else if (/Z$/.test(iso || "")) clinic().offset = 0;
}

/** Today's date where the clinic is, as YYYY-MM-DD (see above). */
export function clinicToday() {
  const c = clinic();
  const zone = clinicSettings.timeZone();
  if (zone) {
    try {
      // en-CA formats a date as YYYY-MM-DD.
      return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
    } catch {
      // An unknown zone name: fall through.
    }
  }
  if (c.offset !== null) return new Date(Date.now() + c.offset * 60_000).toISOString().slice(0, 10);
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
}

// ---- names ----

export const doctorName = (d) => (d ? `Dr ${personName(d)}` : "The doctor");

/** The patient's and doctor's names of an appointment. */
export const patientOf = (a) => (a.patient_details ? personName(a.patient_details) : `Patient #${a.patient}`);
export const doctorOf = (a) => (a.doctor_details ? doctorName(a.doctor_details) : `Doctor #${a.doctor}`);

/** "waiting 12 min" while arrived, "waited 12 min" once started; null otherwise. */
export function waitText(a) {
  const m = a.wait_minutes;
  if (m === null || m === undefined) return null;
  const mins = m === 1 ? "1 min" : `${m} min`;
  if (a.status === "arrived") return `waiting ${mins}`;
  if (a.status === "in_progress" || a.status === "completed") return `waited ${mins}`;
  return null;
}

// ---- a clash, in words ----

/**
 * The sentence for a `409 slot_taken`: "Dr Grey already has an appointment
 * 09:00–09:15." per clash; `doctors` (id → doctor) names them, `doctor` is the
 * one being booked (a clash with another doctor is the patient's own booking).
 */
export function clashText(err, { doctors = new Map(), doctor = null, patient = null } = {}) {
  const list = (err && err.conflicts) || [];
  if (!list.length) return err.message;
  const sentences = list.map((c) => {
    const dr = doctors.get(Number(c.doctor));
    const when = `${clock(c.start)}–${clock(c.end)}`;
    if (doctor !== null && Number(c.doctor) !== Number(doctor)) {
      const who = patient ? personName(patient) : "The patient";
      return `${who} already has an appointment ${when} with ${dr ? doctorName(dr) : "another doctor"}.`;
    }
    return `${dr ? doctorName(dr) : "The doctor"} already has an appointment ${when}.`;
  });
  return sentences.join(" ");
}

// ---- the status move ----

/** POST the move; resolves to the updated appointment. `reason` only on a cancel. */
export function move(a, to, reason) {
  const body = { status: to };
  if (reason) body.reason = reason;
  return api.post(`/api/appointments/${a.id}/status/`, body);
}

let dialogSeq = 0;

/** Asks before a cancel, with an optional reason. Resolves { reason } or null. */
export function cancelDialog(a) {
  return new Promise((resolve) => {
    const id = "cancel-title-" + ++dialogSeq;
    const reasonId = id + "-reason";
    const input = h("input", { id: reasonId, name: "reason", autocomplete: "off", maxlength: 200 });
    const keep = h("button", { type: "submit", value: "keep", class: "btn btn-quiet", dataset: { action: "keep" } }, "Keep it");
    const ok = h("button", { type: "submit", value: "confirm", class: "btn btn-danger", dataset: { action: "confirm" } }, "Cancel appointment");
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": id, dataset: { dialog: "cancel" } },
      h("form", { method: "dialog" },
        h("h2", { id }, `Cancel ${patientOf(a)}’s appointment?`),
        h("p", {}, `${doctorOf(a)}, ${span(a)}. The slot becomes free again; the appointment stays in the history.`),
        h("div", { class: "field" }, h("label", { for: reasonId }, "Reason (optional)"), input),
        h("div", { class: "dialog-actions" }, keep, ok)));
    const opener = document.activeElement;
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "confirm" ? { reason: input.value.trim() } : null);
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}

// ---- choosing a patient by search ----

/**
 * A search box with the matching patients under it. Type a name, phone or email;
 * ↓ moves into the results, Enter picks the first (or the focused) one.
 * Returns { el, value() → patient|null, set(patient), focus() }; `onPick(patient)`.
 * `fixed` shows `initial` without "Change" (a move keeps its patient).
 */
export function patientPicker({ signal, initial = null, onPick = () => {}, label = "Patient", fixed = false }) {
  const id = "pp-" + ++dialogSeq;
  let chosen = initial;
  const input = h("input", {
    id, type: "search", name: "patient_search", autocomplete: "off", placeholder: "Name, phone or email",
    "aria-describedby": `${id}-err`, "aria-controls": `${id}-results`,
  });
  const results = h("ul", { class: "picker-results", id: `${id}-results`, dataset: { list: "patient-results" }, "aria-label": "Matching patients" });
  const status = h("p", { class: "field-hint", role: "status" });
  const chosenBox = h("p", { class: "picker-chosen", dataset: { role: "chosen-patient" } });
  const hidden = h("input", { type: "hidden", name: "patient" });
  const error = h("p", { class: "field-error", id: `${id}-err`, dataset: { errorFor: "patient" }, "aria-live": "polite" });
  const el = h("div", { class: "field picker" },
    h("label", { for: id }, label, h("span", { class: "req", "aria-hidden": "true" }, " *")),
    chosenBox, input, hidden, status, results, error);

  function show() {
    hidden.value = chosen ? String(chosen.id) : "";
    chosenBox.replaceChildren();
    if (!chosen) { chosenBox.hidden = true; input.hidden = false; return; }
    chosenBox.hidden = false;
    input.hidden = true;
    results.replaceChildren();
    status.textContent = "";
    const change = h("button", { type: "button", class: "link-btn", dataset: { action: "change-patient" } }, "Change");
    change.addEventListener("click", () => { chosen = null; show(); input.value = ""; input.focus(); });
    append(chosenBox, [h("strong", { dataset: { patientId: chosen.id } }, personName(chosen)),
      chosen.date_of_birth ? h("span", { class: "muted" }, ` · born ${chosen.date_of_birth}`) : null,
      chosen.phone ? h("span", { class: "muted" }, ` · ${chosen.phone}`) : null, fixed ? null : [" ", change]]);
  }

  function pick(p) {
    chosen = p;
    show();
    onPick(p);
  }

  let seq = 0;
  async function search() {
    const text = input.value.trim();
    const mine = ++seq;
    if (!text) { results.replaceChildren(); status.textContent = ""; return; }
    status.textContent = "Searching…";
    try {
      const { items, total } = await api.list("/api/patients/", { search: text, page_size: 8, ordering: "last_name" }, { signal });
      if (mine !== seq) return;
      results.replaceChildren(...items.map((p) => h("li", {},
        h("button", {
          type: "button", class: "picker-option", dataset: { action: "pick-patient", id: p.id },
          on: { click: () => pick(p), keydown: (e) => arrows(e) },
        }, personName(p),
        h("span", { class: "cell-sub" }, [p.date_of_birth ? `born ${p.date_of_birth}` : null, p.phone].filter(Boolean).join(" · ") || `Patient #${p.id}`)))));
      status.textContent = !items.length ? "No patient matches." : total > items.length ? `${total} match; the first ${items.length} are shown.` : "";
    } catch (err) {
      if (err && err.name === "AbortError") return;
      status.textContent = `Could not search. ${err.message}`;
    }
  }
  const typed = debounce(search, 250);

  function arrows(e) {
    const buttons = $$("button", results);
    const i = buttons.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < buttons.length - 1) { e.preventDefault(); buttons[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? buttons[i - 1] : input).focus(); }
  }
  input.addEventListener("input", typed);
  input.addEventListener("keydown", async (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); $$("button", results)[0]?.focus(); }
    if (e.key === "Enter") {
      // Enter picks the first match (the search runs now if it was still waiting).
      e.preventDefault();
      typed.cancel();
      await search();
      const first = $$("button", results)[0];
      if (first) first.click();
    }
  });
  show();
  return { el, value: () => chosen, set: (p) => { chosen = p; show(); }, focus: () => (chosen ? chosenBox.querySelector("button") : input)?.focus() };
}
