// Whether self-registration is open, asked without signing in: the register
// route judges that before it reads the body, so an empty body is refused
// with 403 `registration_closed` while closed and with field errors (400)
// while open. Nothing is created either way.

import * as api from "./api.js";

/** true (open), false (closed), or null when the server could not say (network trouble). */
export async function registrationOpen(signal) {
  try {
    await api.post("/api/auth/register/", {}, { auth: false, signal });
    return true;
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    if (err && err.code === "registration_closed") return false;
    if (err && err.status === 400) return true;
    return null;
  }
}
