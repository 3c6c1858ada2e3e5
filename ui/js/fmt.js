// Display formats and the fixed choices of the API.

export const GENDERS = [["M", "Male"], ["F", "Female"], ["O", "Other"], ["U", "Unknown"]];
export const BLOOD_GROUPS = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];
export const STATUSES = [["ACTIVE", "Active"], ["INACTIVE", "Inactive"], ["COMPLETED", "Completed"]];
export const ROLES = [["user", "User"], ["staff", "Staff"], ["admin", "Admin"]];

export const DASH = "—";

export function label(pairs, value) {
  const hit = pairs.find(([v]) => v === value);
  return hit ? hit[1] : value ?? DASH;
}

export const text = (v) => (v === null || v === undefined || v === "" ? DASH : String(v));

// The clinic's date format (a setting, see clinic.js): one pattern for both
// showing and typing a calendar day, so what a receptionist reads is what
// they type. `browser` takes the order of this computer's language.
let dateFormat = "browser";

export function setDateFormat(format) { dateFormat = format || "browser"; }

/** The pattern in use, such as "DD.MM.YYYY". */
export function datePattern() {
  if (dateFormat !== "browser") return dateFormat;
  const parts = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date(2001, 10, 22));
  const names = { day: "DD", month: "MM", year: "YYYY" };
  const pattern = parts.map((p) => names[p.type] ?? (p.type === "literal" ? p.value : "")).join("");
  // Anything odd (another calendar, letters in the literals): the API's own order.
  return /^(DD|MM|YYYY)[./ -](DD|MM|YYYY)[./ -](DD|MM|YYYY)$/.test(pattern) ? pattern : "YYYY-MM-DD";
}

const pad = (n, width) => String(n).padStart(width, "0");

/** A calendar day (year, month 1–12, day) written in the clinic's pattern. */
function writeDay(y, m, d) {
  return datePattern().replace("YYYY", pad(y, 4)).replace("MM", pad(m, 2)).replace("DD", pad(d, 2));
}

/** A day as typed in the clinic's pattern → "YYYY-MM-DD", or null when it is not one. */
export function parseDay(typed) {
  const text = String(typed || "").trim();
  // The API's own YYYY-MM-DD is unambiguous (a four-digit year first), so it is always understood.
  const order = /^\d{4}-\d{1,2}-\d{1,2}$/.test(text) ? ["YYYY", "MM", "DD"] : datePattern().match(/DD|MM|YYYY/g);
  const numbers = text.split(/[./ -]+/);
  if (numbers.length !== 3 || !numbers.every((n) => /^\d+$/.test(n))) return null;
  const got = {};
  order.forEach((part, i) => { got[part] = Number(numbers[i]); });
  const [y, m, d] = [got.YYYY, got.MM, got.DD];
  // A two-digit year is ambiguous for a birth date (1924 or 2024?): not guessed.
  if (String(numbers[order.indexOf("YYYY")]).length !== 4) return null;
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** "YYYY-MM-DD" (as the API sends it) in the clinic's pattern, for a form field. */
export function dayInput(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return m ? writeDay(Number(m[1]), Number(m[2]), Number(m[3])) : iso || "";
}

export function date(value) {
  if (!value) return DASH;
  // A bare date (YYYY-MM-DD) is a calendar day: written as it is, without time-zone shifts.
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return dayInput(value);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return writeDay(d.getFullYear(), d.getMonth() + 1, d.getDate());
}

// The clinic's time zone (clinic.js): a moment (a record's creation, an
// audit entry) is shown on the clinic's clock, as appointments are, whatever
// zone this computer is set to. Null until known: the computer's own zone.
let timeZone = null;

export function setTimeZone(zone) { timeZone = zone || null; }

/** A moment on the clinic's clock; `seconds` for the audit trail. */
export function dateTime(value, { seconds = false } = {}) {
  if (!value) return DASH;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const parts = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  if (seconds) parts.second = "2-digit";
  try {
    return d.toLocaleString(undefined, timeZone ? { ...parts, timeZone } : parts);
  } catch {
    // A zone this browser does not know: its own clock rather than nothing.
    return d.toLocaleString(undefined, parts);
  }
}

export function money(value) {
  if (value === null || value === undefined || value === "") return DASH;
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(2) : String(value);
}

export function years(value) {
  if (value === null || value === undefined) return DASH;
  return value === 1 ? "1 year" : `${value} years`;
}

export function personName(p) {
  return p?.name || [p?.first_name, p?.last_name].filter(Boolean).join(" ") || `#${p?.id ?? "?"}`;
}

export function roleLabel(r) { return label(ROLES, r); }
