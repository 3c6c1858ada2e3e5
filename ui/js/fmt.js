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

export function date(value) {
  if (!value) return DASH;
  // A bare date (YYYY-MM-DD) is a calendar day: format it without time-zone shifts.
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(value + "T00:00:00") : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function dateTime(value) {
  if (!value) return DASH;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
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
