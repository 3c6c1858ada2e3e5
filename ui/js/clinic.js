// What every signed-in account learns about the clinic once, at sign-in:
// its name (in the header and at the top of printouts), how dates are
// typed and shown, and the time zone moments are shown in (fmt.js). Read
// from /api/settings/clinic, which any signed-in account may read (the full
// settings are for admins).

import { $ } from "./dom.js";
import * as api from "./api.js";
import { setDateFormat, setTimeZone } from "./fmt.js";

let clinic = { clinic_name: null, date_format: "browser", time_zone: null };
let loading = Promise.resolve();
let known = false;  // read from the server since the last sign-out

/** The clinic's name, or null when setup left it empty. */
export function name() { return clinic.clinic_name || null; }

/** Fetches the clinic's settings (after sign-in, or after an admin changed them). */
export function load() {
  loading = api.get("/api/settings/clinic")
    .then((got) => { use(got); known = true; })
    // The screens work with the defaults; a failed read must not block them.
    .catch(() => {});
  return loading;
}

/** The clinic's IANA time zone, or null before the settings were read. */
export function timeZone() { return clinic.time_zone; }

/** Whether the settings were read for this sign-in already. */
export function loaded() { return known; }

/** Resolves once the last `load` has finished, so screens format dates right at once. */
export function ready() { return loading; }

/** Takes settings already in hand (such as the answer to an admin's change). */
export function use(got) {
  clinic = { clinic_name: got.clinic_name ?? null, date_format: got.date_format || "browser", time_zone: got.time_zone || null };
  setDateFormat(clinic.date_format);
  setTimeZone(clinic.time_zone);
  const slot = $('[data-role="clinic-name"]');
  if (slot) {
    slot.textContent = clinic.clinic_name || "";
    slot.hidden = !clinic.clinic_name;
  }
}

/** Back to the defaults (signed out: nothing of the clinic stays on screen). */
export function reset() {
  known = false;
  use({ clinic_name: null, date_format: "browser", time_zone: null });
}
