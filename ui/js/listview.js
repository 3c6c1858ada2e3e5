// The shared list screen: a filter bar (search-as-you-type, selects), a table
// with sortable headers, loading/empty/error states, and a pager driven by
// X-Total-Count. Patients, doctors, users and the archived views all use it.
//
// Filters live in memory (store.js) so going to a record and back keeps them;
// they are not put in the URL, which would write patient names into history.

import { h, debounce } from "./dom.js";
import * as api from "./api.js";
import { memo } from "./store.js";
import { field } from "./forms.js";
import { dataTable, stateRow, pager, saveFile, showAlert, alertError } from "./ui.js";

export const PAGE_SIZE = 25;

/**
 * cfg: { key, list, path, caption, columns, filters: [field specs], defaults,
 *        query (fixed params), row(item) → <tr>, emptyText(filtered) → string,
 *        after(items, tbody, signal) (optional, e.g. fill a column),
 *        exportPath, exportName (optional: an "Export CSV" button that downloads
 *        the list as filtered and sorted, every page) }
 */
export function listScreen(el, ctx, cfg) {
  const state = memo(cfg.key, () => ({ ...cfg.defaults, page: 1 }));
  const specs = cfg.filters.map((f) => ({ ...f, value: state[f.name] ?? "" }));

  const clearBtn = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "clear-filters" } }, "Clear");
  const exportBtn = cfg.exportPath
    ? h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "export-csv" } }, "Export CSV")
    : null;
  // On a phone only the search box shows until "Filters" is pressed (style.css):
  // a full filter bar would fill the first screen before a single patient.
  const toggleBtn = h("button", { type: "button", class: "btn btn-quiet filters-toggle", dataset: { action: "toggle-filters" }, "aria-expanded": "false" }, "Filters");
  const form = h("form", { class: "filters", role: "search", "aria-label": cfg.caption + " filters", dataset: { form: cfg.key + "-filters" } },
    specs.map(field),
    specs.length > 1 ? toggleBtn : null,
    h("div", { class: "filter-actions" }, clearBtn, exportBtn));
  toggleBtn.addEventListener("click", () => {
    const open = !form.classList.contains("open");
    form.classList.toggle("open", open);
    toggleBtn.setAttribute("aria-expanded", String(open));
    toggleBtn.textContent = open ? "Hide filters" : "Filters";
  });
  form.noValidate = true;

  const table = dataTable(cfg.list, cfg.columns, { caption: cfg.caption, onSort });
  // Narrower than a phone's 600 px the rows become cards, each cell labelled by its column.
  table.wrap.classList.add("list-cards");
  const pagerBox = h("div", { class: "pager-box" });
  // Tells screen-reader users what a filter change did (not on first load).
  const announce = h("p", { class: "visually-hidden", role: "status" });
  el.append(form, announce, table.wrap, pagerBox);
  let loadedOnce = false;

  const read = () => {
    for (const s of specs) {
      const input = form.elements.namedItem(s.name);
      if (input) state[s.name] = input.value.trim();
    }
  };
  const filtered = () => specs.some((s) => s.name !== "ordering" && state[s.name] && state[s.name] !== (cfg.defaults[s.name] ?? ""));
  const apply = () => { read(); state.page = 1; load(); };
  const typed = debounce(apply, 300);

  // Search-as-you-type for text boxes; selects apply at once; Enter applies now.
  form.addEventListener("input", (e) => { if (e.target.tagName === "INPUT") typed(); });
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") { typed.cancel(); apply(); } });
  form.addEventListener("submit", (e) => { e.preventDefault(); typed.cancel(); apply(); });
  clearBtn.addEventListener("click", () => {
    for (const s of specs) {
      const input = form.elements.namedItem(s.name);
      if (input) input.value = cfg.defaults[s.name] ?? "";
    }
    typed.cancel();
    apply();
  });

  // The list as it stands (filters and order, not the page) as a file.
  const filters = () => {
    read();
    const query = { ...cfg.query };
    for (const s of specs) if (state[s.name]) query[s.name] = state[s.name];
    if (state.ordering) query.ordering = state.ordering;
    return query;
  };
  if (exportBtn) {
    exportBtn.addEventListener("click", async () => {
      exportBtn.disabled = true;
      try {
        const { blob, filename } = await api.file(cfg.exportPath, filters(), cfg.exportName, { signal: ctx.signal });
        saveFile(blob, filename);
        showAlert(`The list is downloading as ${filename}.`, "success");
      } catch (err) {
        if (err && err.name === "AbortError") return;
        alertError(err, "Could not export the list.");
      } finally {
        exportBtn.disabled = false;
      }
    });
  }

  function onSort(fieldName, invert) {
    const cur = state.ordering || "";
    const asc = invert ? "-" + fieldName : fieldName;
    const desc = invert ? fieldName : "-" + fieldName;
    state.ordering = cur === asc ? desc : asc;
    const sel = form.elements.namedItem("ordering");
    if (sel) sel.value = state.ordering;
    state.page = 1;
    load();
  }

  let seq = 0;
  async function load(focusAction) {
    const mine = ++seq;
    table.setHeaderSort(state.ordering);
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    const query = { ...cfg.query, page: state.page, page_size: PAGE_SIZE };
    for (const s of specs) if (state[s.name]) query[s.name] = state[s.name];
    if (state.ordering) query.ordering = state.ordering;
    try {
      const { items, total } = await api.list(cfg.path, query, { signal: ctx.signal });
      if (mine !== seq) return;
      if (!items.length && total > 0 && state.page > 1) {
        // The page emptied (records archived meanwhile): show the last real page.
        state.page = Math.max(1, Math.ceil(total / PAGE_SIZE));
        return load();
      }
      if (!items.length) {
        stateRow(table.tbody, table.cols, "empty", cfg.emptyText(filtered()));
        table.table.dataset.state = "empty";
      } else {
        table.tbody.replaceChildren(...items.map(cfg.row));
        for (const tr of table.tbody.rows) {
          [...tr.cells].forEach((td, i) => { td.dataset.label = cfg.columns[i]?.label ?? ""; });
        }
        table.table.dataset.state = "ready";
      }
      pagerBox.replaceChildren(pager({
        page: state.page, pageSize: PAGE_SIZE, total,
        onPage: (p) => { const dir = p > state.page ? "next-page" : "prev-page"; state.page = p; load(dir); },
      }));
      if (focusAction) {
        const btn = pagerBox.querySelector(`[data-action="${focusAction}"]:not(:disabled)`) || pagerBox.querySelector("button:not(:disabled)");
        if (btn) btn.focus();
      }
      if (loadedOnce) announce.textContent = total === 1 ? "1 result" : `${total} results`;
      loadedOnce = true;
      if (cfg.after && items.length) cfg.after(items, table.tbody, ctx.signal);
    } catch (err) {
      if ((err && err.name === "AbortError") || mine !== seq) return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the list. ${err.message}`, () => load());
      pagerBox.replaceChildren();
    }
  }

  load();
  return { reload: () => load(), state, form };
}
