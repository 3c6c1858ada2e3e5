// A doctor's day on paper: /today/print?doctor=<id>&date=YYYY-MM-DD (the
// date defaults to today). The print stylesheet drops the app's chrome; the
// browser's own print dialog does the rest.

import { h } from "../dom.js";
import * as api from "../api.js";
import { notFound, pageHeader, setTitle, dataTable, stateRow } from "../ui.js";
import { text } from "../fmt.js";
import { STATUS_LABELS, clock, day, dayLabel, doctorName, patientOf, learnOffset, clinicToday } from "../appointments.js";

export default async function daySheet(el, ctx) {
  const doctorId = ctx.query.get("doctor");
  const asked = /^\d{4}-\d{2}-\d{2}$/.test(ctx.query.get("date") || "") ? ctx.query.get("date") : null;
  if (!/^\d+$/.test(doctorId || "")) {
    const err = new api.ApiError(404, { detail: "Open a day sheet from a doctor’s column on Today." });
    err.title = "Which doctor?";
    throw err;
  }
  el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading the day sheet…"));
  const [d, list] = await Promise.all([
    api.get(`/api/doctors/${doctorId}/`, { signal: ctx.signal }).catch(notFound("doctor")),
    api.all("/api/appointments/", { date: asked || "today", doctor_id: doctorId, ordering: "start" }, { signal: ctx.signal }),
  ]);
  el.replaceChildren();
  for (const a of list) learnOffset(a.start);
  const date = asked || (list.length ? day(list[0].start) : clinicToday());
  const dname = doctorName(d);
  setTitle(`Day sheet: ${dname}`);

  // Cancelled visits are not on the doctor's day; the sheet says how many were left out.
  const shown = list.filter((a) => a.status !== "cancelled");
  const cancelled = list.length - shown.length;

  el.append(h("div", { class: "no-print" }, pageHeader(`Day sheet: ${dname}`, {
    sub: dayLabel(date, { long: true }),
    actions: [
      h("button", { type: "button", class: "btn", dataset: { action: "print" }, on: { click: () => window.print() } }, "Print"),
      h("a", { class: "btn btn-quiet", href: asked ? `/today?date=${asked}` : "/today", dataset: { action: "back" } }, "Back to the day"),
    ],
  })));

  const table = dataTable("day-sheet", [
    { label: "Time" }, { label: "Patient" }, { label: "Reason" }, { label: "Status" }, { label: "Notes", class: "sheet-notes" },
  ], { caption: `Appointments of ${dname}` });
  if (!shown.length) {
    table.table.dataset.state = "empty";
    stateRow(table.tbody, table.cols, "empty", "No appointments on this day.");
  } else {
    table.table.dataset.state = "ready";
    table.tbody.replaceChildren(...shown.map((a) => h("tr", { dataset: { id: a.id, status: a.status } },
      h("td", { class: "nowrap" }, `${clock(a.start)}–${clock(a.end)}`),
      h("td", {}, patientOf(a), a.kind === "walk_in" ? h("span", { class: "cell-sub" }, "Walk-in") : null),
      h("td", {}, text(a.reason)),
      h("td", {}, STATUS_LABELS[a.status] || a.status),
      h("td", { class: "sheet-notes" }))));
  }

  el.append(h("section", { class: "day-sheet", dataset: { sheet: doctorId } },
    // On paper the sheet carries its own heading (the screen's is left out).
    h("div", { class: "print-only sheet-head" },
      h("p", { class: "sheet-title" }, dname, d.specialization ? ` · ${d.specialization}` : ""),
      h("p", {}, dayLabel(date, { long: true }))),
    table.wrap,
    h("p", { class: "muted small" },
      shown.length === 1 ? "1 appointment" : `${shown.length} appointments`,
      cancelled ? ` (${cancelled} cancelled, not listed)` : "", ".")));
}
