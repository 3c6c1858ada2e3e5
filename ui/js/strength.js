// Password strength feedback while typing. Advisory only: the server enforces
// the real rules (≥ 8 characters, not the email or name, not a common password).

import { h } from "./dom.js";

const COMMON = ["password", "123456", "12345678", "qwerty", "qwertyuiop", "letmein", "welcome", "admin",
  "clinic", "iloveyou", "abc123", "111111", "monkey", "dragon", "sunshine", "football", "passw0rd"];

/** 0–4 and a reason. `personal` are strings the password must not resemble (email, name). */
export function score(pw, personal = []) {
  if (!pw) return { score: 0, text: "At least 8 characters. A few unrelated words make a strong password." };
  if (pw.length < 8) return { score: 0, text: `Too short: ${pw.length} of at least 8 characters.` };
  const lower = pw.toLowerCase();
  if (COMMON.some((c) => lower.includes(c)) && pw.length < 14) return { score: 1, text: "Weak: contains a very common password." };
  if (personal.some((p) => p && p.length >= 3 && lower.includes(p.toLowerCase()))) return { score: 1, text: "Weak: contains your name or email." };
  if (/^(.)\1+$/.test(pw) || /^(0123456789|1234567890|abcdefgh)/i.test(pw)) return { score: 1, text: "Weak: too predictable." };
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(pw)).length;
  let s = 1;
  if (pw.length >= 10) s++;
  if (pw.length >= 14) s++;
  if (classes >= 3 || pw.length >= 18) s++;
  s = Math.min(4, s);
  const words = ["", "Weak", "Fair", "Good", "Strong"];
  return { score: s, text: `${words[s]}.` + (s < 3 ? " Longer is stronger: try a short phrase." : "") };
}

/** A meter + text under a password input; returns the element. Updates as the user types. */
export function strengthMeter(input, personal = () => []) {
  const meter = h("meter", { min: "0", max: "4", low: "2", high: "3", optimum: "4", value: "0", "aria-hidden": "true" });
  const text = h("span", { dataset: { role: "password-strength" } });
  const el = h("p", { class: "strength", "aria-live": "polite" }, meter, text);
  const update = () => {
    const r = score(input.value, personal());
    meter.value = r.score;
    text.textContent = r.text;
    // No colour verdict on an empty box.
    if (input.value) el.dataset.score = String(r.score);
    else delete el.dataset.score;
  };
  input.addEventListener("input", update);
  // form.reset() fires no input event on the field: catch it on the form.
  queueMicrotask(() => input.form && input.form.addEventListener("reset", () => setTimeout(update)));
  update();
  return el;
}
