// One doctor: every field, the weekly hours and time off (doctor-hours.js),
// and the patients assigned to them. Edit/Archive and changing the hours only
// for admin and staff (a `user` never sees buttons it cannot use).

import { h } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { notFound, pageHeader, setTitle, flash, alertError, confirmDialog, dataTable, stateRow, badge } from "../ui.js";
import { detailGroups } from "../details.js";
import { STATUSES, label, text, date, dateTime, money, personName, years } from "../fmt.js";
import { hoursSection, timeOffSection } from "./doctor-hours.js";

export default async function doctorPage(el, ctx) {
  const id = encodeURIComponent(ctx.params.id);
  el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading doctor…"));
  const d = await api.get(`/api/doctors/${id}/`, { signal: ctx.signal }).catch(notFound("doctor"));
  el.replaceChildren();
  const name = personName(d);
  setTitle(name);

  const actions = [
    h("a", { class: "btn", href: `/book?doctor=${d.id}`, dataset: { action: "book" } }, "Book"),
    h("a", { class: "btn btn-quiet", href: `/today/print?doctor=${d.id}`, dataset: { action: "print-day" } }, "Today’s sheet"),
  ];
  if (session.canEditDoctors()) {
    const archiveBtn = h("button", { type: "button", class: "btn btn-quiet btn-danger-text", dataset: { action: "archive" } }, "Archive");
    archiveBtn.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Archive ${name}?`,
        message: "The doctor disappears from lists and cannot be assigned; their active assignments become inactive. An administrator can restore the doctor later.",
        confirmLabel: "Archive doctor",
        danger: true,
      });
      if (!ok) return;
      archiveBtn.disabled = true;
      try {
        await api.del(`/api/doctors/${d.id}/`);
        flash(`${name} is archived.`, "success");
        navigate("/doctors");
      } catch (err) {
        archiveBtn.disabled = false;
        alertError(err, "Could not archive the doctor.");
      }
    });
    actions.push(h("a", { class: "btn btn-quiet", href: `/doctors/${d.id}/edit`, dataset: { action: "edit" } }, "Edit"), archiveBtn);
  }
  const exp = d.years_of_experience ?? d.experience_years;
  el.append(pageHeader(name, {
    sub: [d.specialization, d.is_available === false ? "not available" : "available"].filter(Boolean).join(" · "),
    actions,
  }));

  const details = h("section", { class: "section", "aria-labelledby": "details-h" },
    h("h2", { id: "details-h" }, "Details"),
    detailGroups([
      ["Doctor", [
        ["first_name", "First name", d.first_name], ["last_name", "Last name", d.last_name],
        ["specialization", "Specialization", d.specialization], ["qualification", "Qualification", d.qualification],
        ["years_of_experience", "Experience", exp === null || exp === undefined ? null : years(exp)],
        ["license_number", "License number", d.license_number],
      ]],
      ["Contact", [["phone", "Phone", d.phone], ["email", "Email", d.email], ["city", "City", d.city]]],
      ["Practice", [
        ["consultation_fee", "Consultation fee", d.consultation_fee === null || d.consultation_fee === undefined ? null : money(d.consultation_fee)],
        ["appointment_minutes", "Appointment length", d.appointment_minutes ? `${d.appointment_minutes} minutes` : null],
        ["is_available", "Availability", d.is_available === false ? "Not available" : "Available"],
        ["available_days", "Available days", d.available_days], ["available_time", "Available hours", d.available_time],
        ["languages_spoken", "Languages", d.languages_spoken, true],
        ["bio", "Bio", d.bio, true],
      ]],
      ["Record", [["created_at", "Created", dateTime(d.created_at)], ["updated_at", "Last changed", dateTime(d.updated_at)]]],
    ]));

  // The working part (hours, time off, patients) is the side column, first on a tablet.
  el.append(h("div", { class: "layout-two side-first" }, details,
    h("div", { class: "side-column" }, hoursSection(d, ctx), timeOffSection(d, ctx), patientsSection(d, ctx))));
}

function patientsSection(d, ctx) {
  const table = dataTable("doctor-patients", [{ label: "Patient" }, { label: "Status" }, { label: "Reason" }, { label: "Since" }], { caption: "Patients" });
  const mine = session.role() === "user";

  async function load() {
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    let maps;
    try {
      maps = await api.all("/api/mappings/", { doctor_id: d.id }, { signal: ctx.signal });
    } catch (err) {
      if (err.name === "AbortError") return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the patients. ${err.message}`, load);
      return;
    }
    if (!maps.length) {
      table.table.dataset.state = "empty";
      stateRow(table.tbody, table.cols, "empty", mine ? "None of your patients is assigned to this doctor." : "No patients assigned.");
      return;
    }
    maps.sort((a, b) => ((b.status === "ACTIVE") - (a.status === "ACTIVE")) || b.id - a.id);
    table.tbody.replaceChildren(...maps.map((m) => {
      const pname = m.patient_details ? personName(m.patient_details) : `Patient #${m.patient}`;
      return h("tr", { dataset: { id: m.id, patientId: m.patient, status: m.status } },
        h("td", {}, h("a", { href: `/patients/${m.patient}` }, pname)),
        h("td", {}, badge(label(STATUSES, m.status), m.status === "ACTIVE" ? "ok" : "off")),
        h("td", {}, text(m.reason)),
        h("td", {}, date(m.created_at)));
    }));
    table.table.dataset.state = "ready";
  }
  load();

  return h("section", { class: "section", "aria-labelledby": "dp-h" },
    h("div", { class: "section-head" }, h("h2", { id: "dp-h" }, "Patients"),
      mine ? h("span", { class: "muted small" }, "Only the patients you added are shown.") : null),
    table.wrap);
}
