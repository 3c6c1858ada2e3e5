// The "Whole clinic" section of Settings (admin): download every record as
// one file (GET /api/admin/export), and load such a file into a new
// clinicdesk (POST /api/admin/import), which must hold no patients, doctors
// or appointments yet. The import is all or nothing: a refusal lists every
// record it names and stores nothing.

import { h } from "../dom.js";
import * as api from "../api.js";
import { alertError, saveFile, showAlert } from "../ui.js";

/** What the server said was wrong, one line a record field. */
function problems(err) {
  const errors = (err && err.errors) || {};
  return Object.entries(errors).map(([where, messages]) =>
    h("li", {}, `${where}: ${[].concat(messages).join(" ")}`));
}

function reportOf(report) {
  const counts = ["patients", "doctors", "appointments", "mappings", "users"]
    .map((name) => `${report[name]} ${name === "users" ? "accounts" : name}`).join(", ");
  const needing = report.accounts_needing_password.length;
  return h("div", { dataset: { role: "import-report" } },
    h("p", {}, `Imported ${counts}.`),
    needing ? h("p", {}, `${needing} accounts came without a password: give each a temporary one on the Users screen; they choose their own at their first sign-in.`) : null);
}

export function clinicDataSection(signal) {
  const result = h("div", { class: "import-result" });
  const download = h("button", { type: "button", class: "btn", dataset: { action: "export-clinic" } },
    "Download the whole clinic");
  download.addEventListener("click", async () => {
    download.disabled = true;
    try {
      const { blob, filename } = await api.file("/api/admin/export", {}, "clinicdesk-export.json", { signal });
      saveFile(blob, filename);
      showAlert(`The whole clinic is downloading as ${filename}. It holds patient records: keep it as safe as a backup.`, "success");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      alertError(err, "Could not export the clinic.");
    } finally {
      download.disabled = false;
    }
  });

  const chooser = h("input", { type: "file", accept: ".json,application/json", id: "clinic-import-file",
    dataset: { field: "clinic-import" } });
  const load = h("button", { type: "button", class: "btn", dataset: { action: "import-clinic" } },
    "Import into this clinicdesk");
  load.addEventListener("click", async () => {
    const chosen = chooser.files && chooser.files[0];
    result.replaceChildren();
    if (!chosen) {
      showAlert("Choose a file from “Download the whole clinic” first.");
      return;
    }
    load.disabled = true;
    try {
      let document;
      try {
        document = JSON.parse(await chosen.text());
      } catch {
        showAlert("That file is not a clinicdesk export (it is not JSON).");
        return;
      }
      const report = await api.post("/api/admin/import", document, { signal });
      result.replaceChildren(reportOf(report));
      showAlert("The clinic was imported.", "success");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      alertError(err, "Nothing was imported.");
      const lines = problems(err);
      if (lines.length) result.replaceChildren(h("ul", { dataset: { role: "import-problems" } }, lines));
    } finally {
      load.disabled = false;
    }
  });

  return h("section", { class: "section narrow-section", dataset: { section: "clinic-data" } },
    h("h2", {}, "Whole clinic"),
    h("p", { class: "muted" }, "Every record in one file (archived ones too, no passwords): to move the clinic to another computer, or to keep outside clinicdesk. Also `clinicdesk export --out FILE` on the server."),
    h("div", { class: "form-actions" }, download),
    h("p", { class: "muted" }, "Into a new clinicdesk only (no patients, doctors or appointments yet). All or nothing; accounts are matched by email, and new ones need a temporary password from an admin."),
    h("label", { for: "clinic-import-file" }, "Export file"), chooser,
    h("div", { class: "form-actions" }, load),
    result);
}
