// Possible duplicate patients: the words for a candidate (who, born when,
// why they look alike), the warning of the new-patient form, and the
// "Possible duplicates" box of a patient's page. Names are user data, so
// everything here is built with h() (text nodes only).

import { h, debounce } from "./dom.js";
import * as api from "./api.js";
import { date, personName } from "./fmt.js";

/** "same date of birth, last name sounds alike" (the API's reasons, in its order). */
export function reasonsText(reasons) {
  return (reasons || []).filter(Boolean).join(", ");
}

/** How sure the score makes us, in words. */
export function scoreWords(score) {
  if (score >= 90) return "very likely the same person";
  if (score >= 70) return "likely the same person";
  return "possibly the same person";
}

/** "Katharina Schmidt, born 12 Jul 1984" (without the birth date when it is not on file). */
export function whoText(p) {
  return p.date_of_birth ? `${personName(p)}, born ${date(p.date_of_birth)}` : personName(p);
}

/** The query of GET /api/patients/duplicate-check/ from the form's values, or null while too little is filled. */
export function checkQuery(v) {
  const named = v.first_name || v.last_name;
  // A date input reports "" until the date is complete.
  const dob = /^\d{4}-\d{2}-\d{2}$/.test(v.date_of_birth || "") ? v.date_of_birth : "";
  if (!named || !(dob || v.phone)) return null;
  return {
    first_name: v.first_name, last_name: v.last_name, date_of_birth: dob,
    phone: v.phone, email: v.email, gender: v.gender,
  };
}

/**
 * The new-patient form's warning ([data-role="duplicate-warning"]). `read()`
 * gives the form's current values; call `check()` on every change. Only the
 * latest answer is shown; "Continue" hides the candidates shown until a new
 * one turns up. The warning never blocks saving.
 */
export function duplicateWarning(read, signal) {
  const list = h("ul", { class: "dup-candidates" });
  const heading = h("p", { class: "dup-warning-title" });
  const box = h("div", { class: "dup-warning", role: "status", dataset: { role: "duplicate-warning" }, hidden: true },
    heading, list,
    h("p", { class: "dup-warning-note" }, "You can still save this patient."),
    h("button", {
      type: "button", class: "btn btn-quiet btn-small", dataset: { action: "dismiss-duplicates" },
      on: { click: dismiss },
    }, "Continue"));

  const dismissed = new Set();
  let shown = [];
  let seq = 0;
  let inflight = null;

  function show(candidates) {
    shown = candidates.filter((c) => c && c.patient && !dismissed.has(c.patient.id));
    if (!shown.length) {
      box.hidden = true;
      list.replaceChildren();
      return;
    }
    heading.textContent = shown.length === 1 ? "Possible duplicate:" : `${shown.length} possible duplicates:`;
    list.replaceChildren(...shown.map((c) => {
      const why = reasonsText(c.reasons);
      return h("li", { dataset: { candidate: c.patient.id } },
        h("span", { class: "dup-who" }, whoText(c.patient)),
        why ? ` — ${why}` : null,
        " ",
        h("a", { href: `/patients/${c.patient.id}`, dataset: { action: "open-candidate" }, "aria-label": `Open ${personName(c.patient)}` }, "Open"));
    }));
    box.hidden = false;
  }

  function dismiss() {
    for (const c of shown) dismissed.add(c.patient.id);
    show([]);
  }

  let lastKey = null;  // the query last asked: typing in other fields asks nothing new

  async function run() {
    const query = checkQuery(read());
    const key = query ? JSON.stringify(query) : null;
    if (key === lastKey) return;
    lastKey = key;
    const mine = ++seq;
    if (inflight) inflight.abort();
    if (!query) { inflight = null; show([]); return; }
    const ctrl = new AbortController();
    inflight = ctrl;
    const stop = () => ctrl.abort();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const found = await api.get("/api/patients/duplicate-check/", { query, signal: ctrl.signal });
      if (mine === seq) show(Array.isArray(found) ? found : []);
    } catch (err) {
      // A failed check must not get in the way of entering the patient.
      if (mine === seq && !(err && err.name === "AbortError")) show([]);
    } finally {
      signal?.removeEventListener("abort", stop);
    }
  }

  const check = debounce(run, 400);
  const cancel = () => { check.cancel(); seq++; if (inflight) inflight.abort(); };
  return { el: box, check, cancel };
}

/**
 * A saved patient's "Possible duplicates" box (staff and admin): hidden until
 * GET /api/patients/<id>/duplicates/ has named someone.
 */
export function duplicatesSection(p, ctx) {
  const list = h("ul", { class: "dup-candidates" });
  const section = h("section", { class: "section", "aria-labelledby": "dups-h", dataset: { role: "possible-duplicates" }, hidden: true },
    h("div", { class: "section-head" }, h("h2", { id: "dups-h" }, "Possible duplicates"),
      h("a", { class: "btn btn-quiet btn-small", href: "/duplicates", dataset: { action: "open-duplicates" } }, "Compare and merge")),
    list);
  (async () => {
    let found;
    try {
      found = await api.get(`/api/patients/${p.id}/duplicates/`, { signal: ctx.signal });
    } catch {
      return; // only a hint: nothing to show when it cannot be had
    }
    if (!Array.isArray(found) || !found.length) return;
    list.replaceChildren(...found.map((c) => h("li", { dataset: { candidate: c.patient.id } },
      h("a", { href: `/patients/${c.patient.id}` }, whoText(c.patient)),
      h("span", { class: "cell-sub" }, [reasonsText(c.reasons), `score ${c.score}`].filter(Boolean).join(" · ")))));
    section.hidden = false;
  })();
  return section;
}

/** "Merged into <link>" for a record a merge archived; the link names the survivor once it is loaded. */
export function mergedNotice(p, ctx) {
  const link = h("a", { href: `/patients/${p.merged_into}`, dataset: { action: "open-survivor" } }, `patient #${p.merged_into}`);
  api.get(`/api/patients/${p.merged_into}/`, { signal: ctx.signal })
    .then((s) => { link.textContent = `${personName(s)} (#${s.id})`; })
    .catch(() => {});
  return h("p", { class: "dup-merged", dataset: { role: "merged-into" } },
    "This record was merged and is archived. Merged into ", link, ".");
}
