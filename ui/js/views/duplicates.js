// Duplicates (staff and admin): the likely pairs of the whole clinic, best
// first, each side by side field by field with the differences marked, and
// three choices: merge into the left record, merge into the right one, or
// "not the same person" (the pair is never suggested again).

import { h, append, clear } from "../dom.js";
import * as api from "../api.js";
import { pageHeader, setTitle, showAlert, alertError, confirmDialog, pager } from "../ui.js";
import { GENDERS, label, date, text, personName, DASH } from "../fmt.js";
import { reasonsText, scoreWords } from "../duplicates.js";

const PAGE_SIZE = 10;

/** The rows of a pair: [label, value of a patient as text, compare as typed?]. */
const ROWS = [
  ["Name", (p) => personName(p)],
  ["Date of birth", (p) => (p.date_of_birth ? date(p.date_of_birth) : DASH)],
  ["Gender", (p) => (p.gender ? label(GENDERS, p.gender) : DASH)],
  ["Phone", (p) => text(p.phone)],
  ["Email", (p) => text(p.email)],
  ["Address", (p) => text(p.address)],
  ["City", (p) => text(p.city)],
  ["Created", (p) => date(p.created_at)],
];

/** The API's field names in merge_conflicts, in words. */
const FIELD_WORDS = {
  first_name: "first name", last_name: "last name", date_of_birth: "date of birth", gender: "gender",
  age: "age", phone: "phone", email: "email", address: "address", city: "city", state: "state / region",
  postal_code: "postal code", country: "country", blood_group: "blood group", allergies: "allergies",
  current_medications: "current medications", medical_history: "medical history",
  emergency_contact_name: "emergency contact", emergency_contact_phone: "emergency contact phone",
  emergency_contact_relation: "emergency contact relation", is_active: "status",
};

const fieldWords = (f) => FIELD_WORDS[f] || String(f).replace(/_/g, " ");
const same = (x, y) => x.trim().toLowerCase() === y.trim().toLowerCase();
const capital = (t) => t.charAt(0).toUpperCase() + t.slice(1);
const who = (p) => `${personName(p)} (#${p.id})`;
const shown = (v) => (v === null || v === undefined || v === "" ? DASH : String(v));

export default async function duplicatesView(el, ctx) {
  setTitle("Duplicates");
  el.append(pageHeader("Possible duplicates", {
    sub: "Records that may be the same person, the most likely first. A merge keeps one record, moves the other's appointments and doctor assignments to it, and archives the other.",
  }));
  const result = h("div", { class: "dup-result", tabindex: "-1", dataset: { role: "merge-result" }, hidden: true });
  const listEl = h("div", { class: "dup-list", dataset: { list: "duplicates", state: "loading" } });
  const pagerBox = h("div", { class: "pager-box" });
  el.append(result, listEl, pagerBox);

  let page = 1;
  let seq = 0;

  async function load() {
    const mine = ++seq;
    listEl.dataset.state = "loading";
    clear(listEl).append(h("p", { class: "loading-text", role: "status" }, "Loading…"));
    let items;
    let total;
    try {
      ({ items, total } = await api.list("/api/patients/duplicates/", { page, page_size: PAGE_SIZE }, { signal: ctx.signal }));
    } catch (err) {
      if ((err && err.name === "AbortError") || mine !== seq) return;
      listEl.dataset.state = "error";
      clear(listEl).append(h("p", { class: "state-panel", role: "alert" }, `Could not load the pairs. ${err.message} `,
        h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { action: "retry" }, on: { click: load } }, "Try again")));
      pagerBox.replaceChildren();
      return;
    }
    if (mine !== seq) return;
    if (!items.length && total > 0 && page > 1) {
      // The last pair of this page was just dealt with: show the last real page.
      page = Math.max(1, Math.ceil(total / PAGE_SIZE));
      return load();
    }
    if (!items.length) {
      listEl.dataset.state = "empty";
      clear(listEl).append(h("p", { class: "state-panel dup-empty", role: "status" }, "No likely duplicates."));
    } else {
      listEl.replaceChildren(...items.map(pairCard));
      listEl.dataset.state = "ready";
    }
    // The empty state says it all; otherwise the count and the pages.
    pagerBox.replaceChildren(...(total ? [pager({ page, pageSize: PAGE_SIZE, total, onPage: (p) => { page = p; load(); } })] : []));
  }

  function pairCard(pair) {
    const { a, b } = pair;
    const buttons = [];
    const act = (action, words, fn, aria) => {
      const btn = h("button", { type: "button", class: action === "not-duplicate" ? "btn btn-quiet" : "btn", dataset: { action }, "aria-label": aria }, words);
      btn.addEventListener("click", async () => {
        for (const x of buttons) x.disabled = true;
        const done = await fn().catch((err) => { alertError(err); return false; });
        if (!done) for (const x of buttons) x.disabled = false;
      });
      buttons.push(btn);
      return btn;
    };
    const rows = ROWS.map(([words, value]) => {
      const left = value(a);
      const right = value(b);
      // A value on one side only is no contradiction: a merge into the other side fills it in.
      const oneSide = (left === DASH) !== (right === DASH);
      const differs = !oneSide && !same(left, right);
      return h("tr", { class: differs ? "differs" : oneSide ? "one-side" : null, dataset: { differs: differs ? "true" : null } },
        h("th", { scope: "row" }, words,
          differs ? h("span", { class: "visually-hidden" }, " (differs)") : null,
          oneSide ? h("span", { class: "visually-hidden" }, " (on one record only)") : null),
        h("td", { dataset: { side: "left" } }, left),
        h("td", { dataset: { side: "right" } }, right));
    });
    const why = reasonsText(pair.reasons);
    return h("section", { class: "section dup-pair", dataset: { pair: `${a.id}-${b.id}` }, "aria-label": `${who(a)} and ${who(b)}` },
      h("p", { class: "dup-score" },
        h("strong", {}, `Score ${pair.score} of 100`), ` — ${scoreWords(pair.score)}`,
        why ? h("span", { class: "cell-sub", dataset: { role: "reasons" } }, `${capital(why)}.`) : null),
      h("div", { class: "table-wrap" },
        h("table", { class: "data-table dup-compare" },
          h("caption", { class: "visually-hidden" }, `${who(a)} compared with ${who(b)}`),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Field"),
            h("th", { scope: "col" }, h("a", { href: `/patients/${a.id}` }, `Left: #${a.id}`)),
            h("th", { scope: "col" }, h("a", { href: `/patients/${b.id}` }, `Right: #${b.id}`)))),
          h("tbody", {}, rows))),
      h("div", { class: "form-actions dup-actions" },
        act("merge-left", "Merge into left", () => merge(a, b), `Merge ${who(b)} into ${who(a)}`),
        act("merge-right", "Merge into right", () => merge(b, a), `Merge ${who(a)} into ${who(b)}`),
        act("not-duplicate", "Not the same person", () => distinct(a, b), `${who(a)} and ${who(b)} are not the same person`)));
  }

  /** Merges `other` into `keep` after asking; true when done. */
  async function merge(keep, other) {
    const ok = await confirmDialog({
      title: `Keep ${who(keep)}?`,
      message: `${who(keep)} stays, with ${who(other)}'s appointments and doctor assignments and any of its details that ${who(keep)} lacks. ${who(other)} is archived (an administrator can still read it).`,
      confirmLabel: "Merge", danger: true,
    });
    if (!ok) return false;
    let saved;
    try {
      saved = await api.post(`/api/patients/${keep.id}/merge/`, { duplicate: other.id });
    } catch (err) {
      if (err && err.code === "slot_taken") {
        showAlert(`Could not merge: an appointment of ${who(other)} is at the same time as one of ${who(keep)}. Cancel or move one of them first.`, "error");
        return false;
      }
      alertError(err, "Could not merge.");
      return false;
    }
    const conflicts = Array.isArray(saved.merge_conflicts) ? saved.merge_conflicts : [];
    append(clear(result), [
      h("p", {}, `Merged: ${who(other)} is archived; ${who(saved)} is kept.`),
      conflicts.length ? h("p", {}, "Where both records had a different value, the kept record's stays:") : null,
      conflicts.length ? h("ul", { dataset: { role: "merge-conflicts" } }, conflicts.map((c) => h("li", { dataset: { field: c.field } },
        `${capital(fieldWords(c.field))}: kept “${shown(c.kept)}”, the other record had “${shown(c.other)}”`))) : null,
      h("p", {}, h("a", { href: `/patients/${saved.id}` }, `Open ${personName(saved)}`))]);
    result.hidden = false;
    showAlert(`${who(other)} is merged into ${who(saved)}.`, "success");
    await load();
    // The buttons are gone with the pair: keyboard users go on from the outcome.
    result.focus();
    return true;
  }

  /** Marks the pair as two people; true when done. */
  async function distinct(a, b) {
    try {
      await api.post(`/api/patients/${a.id}/not-duplicate/`, { other: b.id });
    } catch (err) {
      alertError(err, "Could not save that.");
      return false;
    }
    showAlert(`${who(a)} and ${who(b)} are kept apart; this pair will not be suggested again.`, "success");
    await load();
    (listEl.querySelector("button:not(:disabled)") || el.querySelector("h1"))?.focus();
    return true;
  }

  await load();
}
