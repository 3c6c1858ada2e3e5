// Read-only record display: groups of label/value pairs. Every value is
// text; each <dd> carries data-field="<api field>" for tests and styling.

import { h } from "./dom.js";
import { DASH } from "./fmt.js";

/** groups: [[title, [[field, label, valueText, wide?]]]] */
export function detailGroups(groups) {
  return groups.map(([title, rows]) => h("div", { class: "details-group", dataset: { group: title ? title.toLowerCase().replace(/\s+/g, "-") : null } },
    title ? h("h3", {}, title) : null,
    h("dl", { class: "details" }, rows.map(([name, labelText, value, wide]) =>
      h("div", { class: wide ? "wide" : null },
        h("dt", {}, labelText),
        h("dd", { dataset: { field: name } }, value === null || value === undefined || value === "" ? DASH : String(value)))))));
}
