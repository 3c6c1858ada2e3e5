// Import (staff and admin): patients or doctors from a spreadsheet saved as
// CSV. The file is checked first (a dry run: every refused row by its row
// number, field and message, and the possible duplicates), and only then
// imported, all rows or none.

import { h, append, clear } from "../dom.js";
import * as api from "../api.js";
import { pageHeader, setTitle, showAlert, clearAlert, dataTable } from "../ui.js";
import { field, submitButton } from "../forms.js";
import { personName } from "../fmt.js";

const KINDS = {
  patients: { path: "/api/patients/import/", one: "patient", many: "patients", list: "/patients" },
  doctors: { path: "/api/doctors/import/", one: "doctor", many: "doctors", list: "/doctors" },
};

const count = (n, kind) => `${n} ${n === 1 ? kind.one : kind.many}`;

export default async function importView(el) {
  setTitle("Import");
  el.append(pageHeader("Import a spreadsheet", {
    sub: "Save the sheet as \"CSV UTF-8\", with the column names in its first row (first name, last name, date of birth, phone, …). The file is checked first; nothing is stored until you import it, and then every row or none.",
  }));
  const kindField = field({ name: "kind", label: "What the file holds", type: "select", options: [["patients", "Patients"], ["doctors", "Doctors"]] });
  const fileField = field({ name: "file", label: "CSV file", type: "file", required: true, hint: "At most 100,000 rows and 20 MiB." });
  const fileInput = fileField.querySelector("input");
  fileInput.accept = ".csv,text/csv";
  const form = h("form", { class: "form", novalidate: true, dataset: { form: "import" } },
    kindField, fileField, h("div", { class: "form-actions" }, submitButton("Check the file")));
  const report = h("section", { class: "import-report", dataset: { role: "import-report" }, hidden: true, "aria-live": "polite" });
  el.append(form, report);

  const kindOf = () => KINDS[form.elements.namedItem("kind").value] || KINDS.patients;

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearAlert();
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      showAlert("Choose a CSV file first.");
      return;
    }
    const kind = kindOf();
    report.hidden = true;
    let checked;
    try {
      ({ data: checked } = await api.request("POST", kind.path, { query: { dry_run: "true" }, upload: file }));
    } catch (err) {
      showAlert(err.message);
      return;
    }
    show(checked, kind, file);
  });

  function show(result, kind, file) {
    clear(report);
    report.hidden = false;
    // The DOM's own append would write a skipped (null) part as "null".
    append(report, [
      h("h2", {}, "The check"),
      h("p", { dataset: { role: "import-summary" } },
        `${result.rows} rows: ${result.valid} can be imported, ${result.invalid} cannot.`),
      result.ignored_columns.length
        ? h("p", { class: "muted", dataset: { role: "ignored-columns" } }, `Columns not read: ${result.ignored_columns.join(", ")}.`)
        : null]);
    if (result.errors.length) {
      const { wrap, tbody } = dataTable("import-errors", [{ label: "Row" }, { label: "Field" }, { label: "Problem" }], { caption: "Rows that cannot be imported" });
      for (const e of result.errors) tbody.append(h("tr", {}, h("td", {}, String(e.row)), h("td", {}, e.field.replace(/_/g, " ")), h("td", {}, e.message)));
      report.append(h("h3", {}, "Rows to correct"), wrap);
    }
    const duplicates = result.possible_duplicates || [];
    if (duplicates.length) {
      report.append(h("h3", {}, "Possible duplicates"),
        h("ul", { class: "import-duplicates", dataset: { list: "import-duplicates" } }, duplicates.map((d) => h("li", {},
          `Row ${d.row} may be `,
          d.patient
            ? h("a", { href: `/patients/${d.patient.id}` }, `${personName(d.patient)} (#${d.patient.id})`)
            : `the same person as row ${d.same_as_row}`,
          "."))));
    }
    if (result.invalid > 0) {
      report.append(h("p", { role: "status" }, "Correct these rows in the spreadsheet, save it as CSV again and check it again."));
      return;
    }
    if (result.valid === 0) {
      report.append(h("p", { role: "status" }, "The file holds no rows to import."));
      return;
    }
    const go = h("button", { type: "button", class: "btn", dataset: { action: "import" } }, `Import ${count(result.valid, kind)}`);
    go.addEventListener("click", async () => {
      go.disabled = true;
      clearAlert();
      try {
        const { data } = await api.request("POST", kind.path, { upload: file });
        clear(report).append(
          h("p", { role: "status", dataset: { role: "import-done" } }, `Imported ${count(data.created, kind)}. `,
            h("a", { href: kind.list }, `See the ${kind.many}`)));
        form.reset();
      } catch (err) {
        go.disabled = false;
        if (err.body && Array.isArray(err.body.errors)) show(err.body, kind, file);
        showAlert(err.body && Array.isArray(err.body.errors) ? "The file changed or the records did: check it again." : err.message);
      }
    });
    report.append(h("div", { class: "form-actions" }, go));
  }
}
