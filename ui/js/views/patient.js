// One patient: every field, their appointments (upcoming and past, with
// Book), and the doctors assigned to them (assign, change the status,
// remove). Archive asks first.

import { h, append, clear } from "../dom.js";
import * as api from "../api.js";
import * as session from "../session.js";
import { navigate } from "../router.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { notFound, pageHeader, setTitle, flash, showAlert, alertError, confirmDialog, dataTable, stateRow } from "../ui.js";
import { detailGroups } from "../details.js";
import { GENDERS, STATUSES, label, date, dateTime, personName, years, text } from "../fmt.js";
import { duplicatesSection, mergedNotice } from "../duplicates.js";
import { medicalFirst, printHead } from "../summary.js";
import { ACTIVE, movesFor, move, cancelDialog, statusChip, span, doctorOf, learnOffset } from "../appointments.js";

export default async function patientPage(el, ctx) {
  const id = encodeURIComponent(ctx.params.id);
  el.append(h("p", { class: "loading-text", dataset: { state: "loading" } }, "Loading patient…"));
  const p = await api.get(`/api/patients/${id}/`, { signal: ctx.signal }).catch(notFound("patient"));
  el.replaceChildren();
  // The print stylesheet turns this page into the patient's summary.
  el.classList.add("patient-page");
  const name = personName(p);
  setTitle(name);

  const archiveBtn = h("button", { type: "button", class: "btn btn-quiet btn-danger-text", dataset: { action: "archive" } }, "Archive");
  el.append(printHead(p, name), pageHeader(name, {
    sub: [`Patient #${p.id}`, p.is_active === false ? "inactive" : null, `added ${date(p.created_at)}`].filter(Boolean).join(" · "),
    actions: [
      h("a", { class: "btn btn-quiet", href: `/patients/${p.id}/edit`, dataset: { action: "edit" } }, "Edit"),
      // Paper gets the summary only: the print stylesheet hides the rest of the screen.
      h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "print-summary" }, on: { click: () => window.print() } }, "Print summary"),
      // Who opened or changed this record: the audit trail, filtered to it (admins only).
      session.isAdmin() ? h("a", { class: "btn btn-quiet", href: `/audit?entity=patient&entity_id=${p.id}`, dataset: { action: "audit-trail" } }, "Audit trail") : null,
      archiveBtn,
    ].filter(Boolean),
  }));

  // A record a merge archived points to the one that was kept.
  if (p.merged_into) el.append(mergedNotice(p, ctx));
  // What must not be missed comes before everything else.
  el.append(medicalFirst(p));

  archiveBtn.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: `Archive ${name}?`,
      message: "The patient disappears from lists and searches, with their doctor assignments. An administrator can restore them later.",
      confirmLabel: "Archive patient",
      danger: true,
    });
    if (!ok) return;
    archiveBtn.disabled = true;
    try {
      await api.del(`/api/patients/${p.id}/`);
      flash(`${name} is archived.`, "success");
      navigate("/patients");
    } catch (err) {
      archiveBtn.disabled = false;
      alertError(err, "Could not archive the patient.");
    }
  });

  const details = h("section", { class: "section", "aria-labelledby": "details-h" },
    h("h2", { id: "details-h" }, "Details"),
    detailGroups([
      ["Identity", [
        ["first_name", "First name", p.first_name], ["last_name", "Last name", p.last_name],
        ["gender", "Gender", p.gender ? label(GENDERS, p.gender) : null],
        ["date_of_birth", "Date of birth", p.date_of_birth ? date(p.date_of_birth) : null],
        ["age", "Age", p.age === null || p.age === undefined ? null : years(p.age)],
        ["is_active", "Status", p.is_active === false ? "Inactive" : "Active"],
      ]],
      ["Contact", [
        ["phone", "Phone", p.phone], ["email", "Email", p.email],
        ["address", "Address", p.address, true],
        ["city", "City", p.city], ["state", "State / region", p.state],
        ["postal_code", "Postal code", p.postal_code], ["country", "Country", p.country],
      ]],
      ["Medical", [
        ["blood_group", "Blood group", p.blood_group],
        ["medical_history", "Medical history", p.medical_history, true],
      ]],
      ["Emergency contact", [
        ["emergency_contact_name", "Name", p.emergency_contact_name],
        ["emergency_contact_phone", "Phone", p.emergency_contact_phone],
        ["emergency_contact_relation", "Relation", p.emergency_contact_relation],
      ]],
      ["Record", [
        ["created_at", "Created", dateTime(p.created_at)], ["updated_at", "Last changed", dateTime(p.updated_at)],
      ]],
    ]));

  const assignments = assignmentSection(p, ctx);
  // Staff and admins can merge, so they are the ones told about look-alikes.
  const canMerge = ["admin", "staff"].includes(session.role()) && !p.merged_into;
  el.append(h("div", { class: "layout-two side-first" }, details,
    h("div", { class: "side-column" }, canMerge ? duplicatesSection(p, ctx) : null, appointmentsSection(p, ctx), assignments)));
}

/** The "Appointments" box: upcoming ones first (soonest first, each booked one can be moved or cancelled), then the past. */
function appointmentsSection(p, ctx) {
  const table = dataTable("patient-appointments", [{ label: "When" }, { label: "Doctor" }, { label: "Status" }], { caption: "Appointments" });
  const PAST_SHOWN = 20;

  async function load() {
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    let list;
    try {
      list = await api.all(`/api/patients/${p.id}/appointments/`, {}, { signal: ctx.signal });
    } catch (err) {
      if (err.name === "AbortError") return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the appointments. ${err.message}`, load);
      return;
    }
    if (!list.length) {
      table.table.dataset.state = "empty";
      stateRow(table.tbody, table.cols, "empty", "No appointments yet.");
      return;
    }
    // Instants compare the same in any zone; the wall-clock text is shown as sent.
    const now = Date.now();
    const upcoming = list.filter((a) => ACTIVE.includes(a.status) && (a.status !== "booked" || Date.parse(a.end) > now))
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    const past = list.filter((a) => !upcoming.includes(a)).sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
    for (const a of list) learnOffset(a.start);
    const group = (title, n) => h("tr", { class: "group-row" }, h("th", { scope: "colgroup", colspan: table.cols }, title, n ? h("span", { class: "muted" }, ` (${n})`) : null));
    const note = (words) => h("tr", { class: "state-row" }, h("td", { colspan: table.cols }, words));
    append(clear(table.tbody), [
      group("Upcoming", upcoming.length),
      upcoming.length ? upcoming.map((a) => row(a, true)) : note("Nothing booked."),
      past.length ? [group("Past", past.length), past.slice(0, PAST_SHOWN).map((a) => row(a, false))] : null,
      past.length > PAST_SHOWN ? note(`The ${PAST_SHOWN} most recent are shown.`) : null,
    ]);
    table.table.dataset.state = "ready";
  }

  function row(a, upcoming) {
    const cancel = movesFor(a.status).find((m) => m.to === "cancelled");
    let button = null;
    if (cancel && a.status === "booked") {
      button = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "cancel" }, "aria-label": `Cancel the appointment of ${span(a)}` }, "Cancel");
      button.addEventListener("click", async () => {
        const answer = await cancelDialog(a);
        if (!answer) return;
        button.disabled = true;
        try {
          await move(a, "cancelled", answer.reason);
          showAlert(`The appointment of ${span(a)} is cancelled.`, "success");
          load();
        } catch (err) {
          button.disabled = false;
          alertError(err, "Could not cancel the appointment.");
        }
      });
    }
    return h("tr", { dataset: { id: a.id, status: a.status } },
      h("td", {}, span(a),
        a.reason ? h("span", { class: "cell-sub", dataset: { field: "reason" } }, a.reason) : null,
        a.kind === "walk_in" ? h("span", { class: "cell-sub" }, "Walk-in") : null),
      h("td", {}, h("a", { href: `/doctors/${a.doctor}` }, doctorOf(a))),
      h("td", {}, statusChip(a.status), a.cancel_reason ? h("span", { class: "cell-sub" }, text(a.cancel_reason)) : null,
        upcoming && a.status === "booked"
          ? [" ", h("a", { class: "btn btn-quiet btn-small", href: `/book?move=${a.id}`, dataset: { action: "move" }, "aria-label": `Move the appointment of ${span(a)}` }, "Move")]
          : null,
        button ? [" ", button] : null));
  }

  load();
  return h("section", { class: "section", "aria-labelledby": "appts-h" },
    h("div", { class: "section-head" }, h("h2", { id: "appts-h" }, "Appointments"),
      h("a", { class: "btn btn-small", href: `/book?patient=${p.id}`, dataset: { action: "book" } }, "Book")),
    table.wrap);
}

/** The "Assigned doctors" box: the list plus the assign form. */
function assignmentSection(p, ctx) {
  // Three columns so it fits the side panel; reason and date go under the name.
  const table = dataTable("assignments", [
    { label: "Doctor" }, { label: "Status" }, { label: "", class: "actions" },
  ], { caption: "Assigned doctors" });

  const doctorSelect = field({ name: "doctor", label: "Doctor", type: "select", options: [["", "Loading doctors…"]], required: true });
  const form = h("form", { class: "inline-form", dataset: { form: "assign" } },
    doctorSelect,
    field({ name: "reason", label: "Reason (optional)", autocomplete: "off" }),
    h("div", { class: "form-actions" }, submitButton("Assign")));
  const select = form.elements.doctor;

  let doctors = [];
  let current = [];

  async function load() {
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    try {
      current = await api.all(`/api/mappings/${p.id}/`, {}, { signal: ctx.signal });
    } catch (err) {
      if (err.name === "AbortError") return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the assigned doctors. ${err.message}`, load);
      return;
    }
    if (!current.length) {
      table.table.dataset.state = "empty";
      stateRow(table.tbody, table.cols, "empty", "No doctor assigned yet.");
    } else {
      // Active first, then the most recent.
      current.sort((a, b) => ((b.status === "ACTIVE") - (a.status === "ACTIVE")) || b.id - a.id);
      table.tbody.replaceChildren(...current.map(row));
      table.table.dataset.state = "ready";
    }
    fillSelect();
  }

  function row(m) {
    const d = m.doctor_details;
    const dname = d ? personName(d) : `Doctor #${m.doctor}`;
    const status = h("select", { name: "status", "aria-label": `Status of the assignment to ${dname}` },
      STATUSES.map(([v, l]) => h("option", { value: v, selected: v === m.status }, l)));
    status.addEventListener("change", async () => {
      status.disabled = true;
      try {
        await api.patch(`/api/mappings/${m.id}/`, { status: status.value });
        m.status = status.value;
        showAlert(`${dname}: status is now ${label(STATUSES, m.status).toLowerCase()}.`, "success");
        fillSelect();
      } catch (err) {
        status.value = m.status;
        alertError(err, "Could not change the status.");
      } finally {
        status.disabled = false;
      }
    });
    const remove = h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "unassign" }, "aria-label": `Remove ${dname}` }, "Remove");
    remove.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Remove ${dname}?`,
        message: `${dname} will no longer be listed for ${personName(p)}. To keep the history, set the status to Completed instead.`,
        confirmLabel: "Remove", danger: true,
      });
      if (!ok) return;
      try {
        await api.del(`/api/mappings/${m.id}/`);
        showAlert(`${dname} is removed from this patient.`, "success");
        load();
      } catch (err) {
        alertError(err, "Could not remove the assignment.");
      }
    });
    return h("tr", { dataset: { id: m.id, doctorId: m.doctor, status: m.status } },
      h("td", {}, d ? h("a", { href: `/doctors/${m.doctor}` }, dname) : dname,
        h("span", { class: "cell-sub" }, [d && d.specialization, `since ${date(m.created_at)}`].filter(Boolean).join(" · ")),
        m.reason ? h("span", { class: "cell-sub", dataset: { field: "reason" } }, `Reason: ${m.reason}`) : null,
        m.notes ? h("span", { class: "cell-sub", dataset: { field: "notes" } }, m.notes) : null),
      h("td", {}, status),
      h("td", { class: "actions" }, remove));
  }

  // Doctors already actively assigned are left out of the choice.
  function fillSelect() {
    const taken = new Set(current.filter((m) => m.status === "ACTIVE").map((m) => m.doctor));
    const keep = select.value;
    const choices = doctors.filter((d) => !taken.has(d.id));
    select.replaceChildren(
      h("option", { value: "" }, choices.length ? "Choose a doctor…" : doctors.length ? "Every doctor is assigned" : "No doctors yet"),
      ...choices.map((d) => h("option", { value: d.id, selected: String(d.id) === keep },
        personName(d) + (d.specialization ? ` — ${d.specialization}` : "") + (d.is_available === false ? " (not available)" : ""))));
  }

  async function loadDoctors() {
    try {
      doctors = await api.all("/api/doctors/", { ordering: "last_name" }, { signal: ctx.signal });
      fillSelect();
    } catch (err) {
      if (err.name === "AbortError") return;
      select.replaceChildren(h("option", { value: "" }, "Could not load doctors"));
    }
  }

  onSubmit(form, async () => {
    const body = values(form, [{ name: "doctor" }, { name: "reason" }]);
    // No doctor chosen → null, and the API's "required" message shows next to the select.
    const m = await api.post("/api/mappings/", { patient: p.id, doctor: body.doctor ? Number(body.doctor) : null, reason: body.reason });
    form.reset();
    const dname = m.doctor_details ? personName(m.doctor_details) : "The doctor";
    showAlert(`${dname} is assigned to ${personName(p)}.`, "success");
    await load();
    select.focus();
  }, { aliases: { doctor_id: "doctor", patient_id: "patient" } });

  load();
  loadDoctors();

  return h("section", { class: "section", "aria-labelledby": "assign-h" },
    h("div", { class: "section-head" }, h("h2", { id: "assign-h" }, "Assigned doctors")),
    table.wrap,
    form);
}
