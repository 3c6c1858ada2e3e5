// Placeholder UI: the first-admin form at /setup#<token>, a welcome card elsewhere.
const $ = (id) => document.getElementById(id);
const FIELDS = ["name", "email", "password", "password_confirm"];

function welcome() {
  $("welcome").hidden = false;
  fetch("/api/health")
    .then((r) => r.json())
    .then((h) => { $("version").textContent = h.version || "unknown"; })
    .catch(() => { $("version").textContent = "unknown (health check failed)"; });
}

function showErrors(errors, general) {
  for (const f of FIELDS) {
    const msgs = errors[f] || [];
    $(f + "-error").textContent = msgs.join(" ");
    if (msgs.length) $(f).setAttribute("aria-invalid", "true");
    else $(f).removeAttribute("aria-invalid");
  }
  const other = Object.keys(errors).filter((k) => !FIELDS.includes(k))
    .flatMap((k) => errors[k]);
  $("form-error").textContent = [general, ...other].filter(Boolean).join(" ");
  const first = FIELDS.find((f) => errors[f]);
  if (first) $(first).focus();
}

function strength() {
  const n = $("password").value.length;
  const hint = $("strength");
  hint.textContent = n === 0 ? "At least 8 characters."
    : n < 8 ? `Too short (${n} of 8 characters).` : "OK — the server checks the rest.";
  hint.className = n === 0 ? "hint" : n < 8 ? "hint weak" : "hint ok";
}

async function submit(event) {
  event.preventDefault();
  const v = (f) => $(f).value;
  if (v("password") !== v("password_confirm")) {
    showErrors({ password_confirm: ["The two passwords do not match."] });
    return;
  }
  const button = event.submitter || $("setup-form").querySelector("button");
  button.disabled = true;
  showErrors({});
  const token = location.hash.replace(/^#/, "");
  const body = { token, email: v("email").trim(), password: v("password"), name: v("name").trim() };
  let res, data = {};
  try {
    res = await fetch("/api/setup/", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    data = await res.json().catch(() => ({}));
  } catch {
    showErrors({}, "Could not reach clinicdesk. Is the server still running?");
    button.disabled = false;
    return;
  }
  button.disabled = false;
  if (res.status === 201) {
    $("setup-form").hidden = true;
    $("done").hidden = false;
    $("done").querySelector("a").focus();
  } else if (res.status === 400 && data.errors) {
    showErrors(data.errors, data.detail);
  } else if (res.status === 401) {
    showErrors({}, "This setup link is wrong or has expired — restart clinicdesk to get a new one.");
  } else if (res.status === 404) {
    showErrors({}, "Setup is already done: an admin exists.");
  } else {
    showErrors({}, data.detail || `Something went wrong (HTTP ${res.status}). Please try again.`);
  }
}

function setup() {
  $("setup").hidden = false;
  if (!location.hash.slice(1)) {
    $("form-error").textContent =
      "This link has no setup token. Use the full link clinicdesk printed when it started.";
  }
  addEventListener("hashchange", () => { if (location.hash.slice(1)) $("form-error").textContent = ""; });
  $("password").addEventListener("input", strength);
  $("setup-form").addEventListener("submit", submit);
  $("name").focus();
}

const path = location.pathname.replace(/\/+$/, "");
document.title = path === "/setup" ? "Set up clinicdesk" : "clinicdesk";
if (path === "/setup") setup(); else welcome();
