// Form building and the API's per-field errors. Every input gets a <label>,
// a `name` equal to the API field, and an error element
// [data-error-for="<name>"] right under it. Forms are `novalidate`: the API is
// the one judge of what is valid, and its messages appear next to the field.

import { h, $, $$ } from "./dom.js";
import { showAlert, alertError, clearAlert } from "./ui.js";
import { datePattern, dayInput, parseDay } from "./fmt.js";

let seq = 0;

/**
 * field({ name, label, type, value, options: [[value, label]], required, hint,
 *         autocomplete, min, max, step, rows, wide, placeholder, inputmode })
 * type: text | email | password | tel | date | day | number | textarea | select | checkbox | radio
 *
 * `day` is a calendar day typed in the clinic's date format (a text box with
 * the pattern as placeholder); the browser's own date input would take and
 * show the computer's language's order instead, which may not be the
 * clinic's. `values` turns it into the API's YYYY-MM-DD.
 */
export function field(spec) {
  const id = `f-${spec.name}-${++seq}`;
  const errId = id + "-err";
  const hintId = id + "-hint";
  const described = [spec.hint ? hintId : null, errId].filter(Boolean).join(" ");
  const error = h("p", { class: "field-error", id: errId, dataset: { errorFor: spec.name }, "aria-live": "polite" });
  const hint = spec.hint ? h("p", { class: "field-hint", id: hintId }, spec.hint) : null;
  const common = {
    id, name: spec.name, "aria-describedby": described,
    "aria-required": spec.required ? "true" : null,
    autocomplete: spec.autocomplete, placeholder: spec.placeholder, inputmode: spec.inputmode,
  };
  const value = spec.value ?? "";

  if (spec.type === "radio") {
    const radios = spec.options.map(([v, l, note]) => {
      const rid = `${id}-${v}`;
      return h("div", { class: "radio" },
        h("input", { type: "radio", id: rid, name: spec.name, value: v, checked: String(value) === String(v) }),
        h("label", { for: rid }, l, note ? h("span", { class: "field-hint block" }, note) : null));
    });
    return h("fieldset", { class: ["field", "radio-group", spec.wide && "wide"], "aria-describedby": described },
      h("legend", {}, spec.label), radios, hint, error);
  }
  if (spec.type === "checkbox") {
    const box = h("input", { ...common, type: "checkbox" });
    // The default too, so form.reset() returns to it.
    box.defaultChecked = !!spec.value;
    box.checked = !!spec.value;
    return h("div", { class: ["field", "check", spec.wide && "wide"] },
      box,
      h("label", { for: id }, spec.label),
      hint, error);
  }

  let control;
  if (spec.type === "select") {
    control = h("select", common,
      spec.options.map(([v, l]) => h("option", { value: v, selected: String(v) === String(value) }, l)));
  } else if (spec.type === "day") {
    const pattern = datePattern();
    control = h("input", {
      ...common, type: "text", inputmode: "numeric", value: dayInput(String(value)),
      placeholder: pattern, maxlength: 10, dataset: { datePattern: pattern },
    });
  } else if (spec.type === "textarea") {
    control = h("textarea", { ...common, rows: spec.rows || 3 });
    control.value = value;
  } else {
    control = h("input", {
      ...common, type: spec.type || "text", value: String(value),
      min: spec.min, max: spec.max, step: spec.step, maxlength: spec.maxlength,
    });
  }
  return h("div", { class: ["field", spec.wide && "wide", spec.class] },
    h("label", { for: id }, spec.label, spec.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    control, hint, error);
}

/** Reads the named controls of `specs` from `form` into an API body. */
export function values(form, specs) {
  const out = {};
  for (const s of specs) {
    if (s.type === "radio") {
      const checked = $(`input[name="${s.name}"]:checked`, form);
      out[s.name] = checked ? checked.value : null;
      continue;
    }
    const el = form.elements.namedItem(s.name);
    if (!el) continue;
    if (s.type === "checkbox") out[s.name] = el.checked;
    else if (s.type === "number") {
      const raw = el.value.trim();
      // Empty means "no value"; something unparsable goes as typed so the API names the problem.
      out[s.name] = raw === "" ? null : Number.isFinite(Number(raw)) ? Number(raw) : raw;
    } else if (s.type === "day") {
      // Not a day in the clinic's format: sent as typed, and showErrors explains the format.
      const raw = el.value.trim();
      out[s.name] = raw === "" ? "" : parseDay(raw) ?? raw;
    } else if (s.type === "password") out[s.name] = el.value;
    else out[s.name] = el.value.trim();
  }
  return out;
}

export function clearErrors(form) {
  for (const e of $$("[data-error-for]", form)) e.textContent = "";
  for (const e of $$('[aria-invalid="true"]', form)) e.removeAttribute("aria-invalid");
}

/**
 * Puts each `errors[field]` next to its field. `aliases` maps API names to
 * the form's (e.g. contact_number → phone). Returns messages that had no field.
 */
export function showErrors(form, errors, aliases = {}) {
  clearErrors(form);
  const unplaced = [];
  for (const [key, msgs] of Object.entries(errors || {})) {
    const name = aliases[key] || key;
    const slot = $(`[data-error-for="${CSS.escape(name)}"]`, form);
    const text = [].concat(msgs).join(" ");
    if (!slot) { unplaced.push(`${key}: ${text}`); continue; }
    slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
    for (const input of $$(`[name="${CSS.escape(name)}"]`, form)) input.setAttribute("aria-invalid", "true");
  }
  // A day typed in some other order than the clinic's: the API only knows it
  // cannot read it, the form can say how to write it.
  for (const input of $$("input[data-date-pattern]", form)) {
    if (input.getAttribute("aria-invalid") !== "true" || parseDay(input.value)) continue;
    const slot = $(`[data-error-for="${CSS.escape(input.name)}"]`, form);
    if (slot) slot.textContent = dayMessage(input.dataset.datePattern);
  }
  // A field the form marks required and left blank is flagged too, even when
  // the API did not get to it (such as "Password again", which it never sees).
  for (const input of $$('[aria-required="true"]', form)) {
    if (input.type === "checkbox" || input.type === "radio" || input.value.trim() !== "") continue;
    if (input.getAttribute("aria-invalid") === "true") continue;
    const slot = $(`[data-error-for="${CSS.escape(input.name)}"]`, form);
    if (!slot) continue;
    slot.textContent = "Fill this in: it is needed.";
    input.setAttribute("aria-invalid", "true");
  }
  // The API lists its errors alphabetically; the person reads the form top to
  // bottom, so the keyboard goes to the first bad field on the page.
  const first = $('[aria-invalid="true"]', form);
  if (first) first.focus();
  return unplaced;
}

/** How to type a day in `pattern`, with 12 July 1984 as the example. */
export function dayMessage(pattern) {
  const example = pattern.replace("YYYY", "1984").replace("MM", "07").replace("DD", "12");
  return `Enter the date as ${pattern}, like ${example} for 12 July 1984.`;
}

function setBusy(form, busy) {
  for (const b of $$('button[type="submit"]', form)) b.disabled = busy;
  if (busy) form.setAttribute("aria-busy", "true");
  else form.removeAttribute("aria-busy");
}

/** Shows an API error on a form: field errors next to fields, the rest in the alert. */
export function formError(form, err, aliases) {
  // A form with an alert area of its own (sign-in) keeps its messages by it.
  const target = $('[data-role="alert"][data-scope="form"]', form) || undefined;
  if (err && err.errors) {
    const rest = showErrors(form, err.errors, aliases);
    showAlert(["Please check the highlighted fields.", ...rest].join(" "), "error", target);
  } else if (err && err.status === 429) {
    const says = /\d+\s*seconds?/.test(err.message);
    showAlert(err.retryAfter && !says ? `${err.message} Try again in ${err.retryAfter} seconds.` : err.message, "error", target);
  } else {
    alertError(err, undefined, target);
  }
}

/** Wires submit: prevents the page load, disables the button while busy, shows errors. */
export function onSubmit(form, fn, { aliases } = {}) {
  form.noValidate = true;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.getAttribute("aria-busy")) return;
    clearErrors(form);
    const own = $('[data-role="alert"][data-scope="form"]', form);
    if (own) clearAlert(own);
    setBusy(form, true);
    try {
      await fn(e);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      formError(form, err, aliases);
    } finally {
      setBusy(form, false);
    }
  });
}

/** A submit button (the tests look for button[type=submit]). */
export function submitButton(label, extra = {}) {
  return h("button", { type: "submit", class: "btn", ...extra }, label);
}
