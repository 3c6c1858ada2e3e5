// Tiny DOM helpers. The one rule of this UI: user data only ever becomes
// text nodes or attribute values — never HTML. `h()` enforces that: string
// children are always text, and there is no way to pass markup.

/**
 * h("a", { href: "/x", class: "link", dataset: { id: 3 }, on: { click: fn } }, "text", child…)
 * Props that are DOM properties (value, checked, disabled, hidden, selected…)
 * are set as properties; everything else with setAttribute.
 */
const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "required", "multiple", "open"]);

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, val] of Object.entries(props || {})) {
    if (val === undefined || val === null || val === false && !PROPS.has(key)) continue;
    if (key === "class") el.className = Array.isArray(val) ? val.filter(Boolean).join(" ") : val;
    else if (key === "dataset") for (const [k, v] of Object.entries(val)) { if (v != null) el.dataset[k] = String(v); }
    else if (key === "on") for (const [ev, fn] of Object.entries(val)) el.addEventListener(ev, fn);
    else if (key === "text") el.textContent = String(val);
    else if (PROPS.has(key)) el[key] = val;
    else el.setAttribute(key, val === true ? "" : String(val));
  }
  append(el, children);
  return el;
}

/** Appends children: nodes as-is, strings/numbers as text, arrays flattened, null/false skipped. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Runs fn at most once per `ms` after the last call (search-as-you-type). */
export function debounce(fn, ms) {
  let t;
  const d = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}
