// The Backups screen (admin): when the last good backup was made, a warning
// when that is more than a day ago (or never), the last failure, "Back up
// now", the list of backups (the clinic's local time, size, whether each
// still matches its checksum) with a download of each, the daily schedule
// as settings, and how to restore (a command-line step, on purpose: it
// replaces every record).
//
// Times arrive with the clinic's offset (created_local) and are shown as
// sent, so the screen says the clinic's time whatever the browser's zone.

import { h } from "../dom.js";
import * as api from "../api.js";
import { field, values, onSubmit, submitButton } from "../forms.js";
import { pageHeader, setTitle, dataTable, stateRow, pager, showAlert, alertError, saveFile, badge } from "../ui.js";
import { clock, day, dayLabel } from "../appointments.js";
import { DASH, dateTime } from "../fmt.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const PAGE_SIZE = 20;

/** Whether the newest good backup is missing or older than a day. */
export function isStale(status, now = Date.now()) {
  const newest = status.newest;
  if (!newest || !newest.verified) return true;
  return now - new Date(newest.created_at).getTime() > DAY_MS;
}

/** "Wed, 2 Dec 2026, 02:00" from a time with the clinic's offset. */
export function clinicTime(iso) {
  return iso ? `${dayLabel(day(iso))}, ${clock(iso)}` : DASH;
}

/** 1536 → "1.5 KB" (powers of 1024, as file managers show them). */
export function fileSize(bytes) {
  if (!Number.isFinite(bytes)) return DASH;
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit += 1; }
  return unit === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
}

// The second machine (README "Second machine"), from /api/health's
// `replication`: a standby that stopped receiving is as urgent as a stale
// backup.
const REPLICATION = {
  ok: ["Replicating to the standby: Litestream is running and ships each save within about a second.", "muted"],
  down: ["Replication to the standby has stopped: Litestream is not running. clinicdesk starts it again every 5 seconds; the server's log says why.", "alert-area alert-error"],
  off: ["No second machine: replication is off (see \"Second machine\" in the README).", "muted"],
};

function describe(status, replication) {
  const newest = status.newest;
  const schedule = status.backup_time === "off"
    ? "Daily backups are off."
    : `Daily at ${status.backup_time} (${status.time_zone}), keeping the newest ${status.backup_keep}, in ${status.backup_dir}.`
      + (status.next_run ? ` Next: ${clinicTime(status.next_run)}.` : "");
  const parts = [
    h("p", { dataset: { role: "last-backup" } },
      newest ? `Last backup: ${clinicTime(newest.created_local)}${newest.verified ? "" : " (it no longer matches its checksum)"}.` : "No backup has been made yet."),
    h("p", { class: "muted", dataset: { role: "backup-schedule" } }, schedule),
  ];
  const [text, style] = REPLICATION[replication] || ["The replication state could not be read.", "muted"];
  parts.push(h("p", { class: style, dataset: { role: "replication", value: replication || "" } }, text));
  if (isStale(status)) {
    parts.unshift(h("p", { class: "alert-area alert-error", dataset: { role: "backup-warning" } },
      "There is no good backup from the last 24 hours. Back up now, and check the backup folder and schedule."));
  }
  if (status.last_failure) {
    parts.push(h("p", { class: "alert-area alert-error", dataset: { role: "backup-failure" } },
      `The last scheduled backup failed (${dateTime(status.last_failure.at)}): ${status.last_failure.error}`));
  }
  return parts;
}

const COLUMNS = [
  { label: "Made (clinic time)" }, { label: "File" }, { label: "Size" }, { label: "Checksum" }, { label: "" },
];

function row(b, onDownload) {
  const download = h("button", {
    type: "button", class: "btn btn-quiet btn-small", dataset: { action: "download-backup", name: b.name },
    on: { click: () => onDownload(b.name, download) },
  }, "Download");
  return h("tr", { dataset: { id: b.name } },
    h("td", { class: "nowrap", dataset: { col: "time" } }, h("time", { datetime: b.created_local }, clinicTime(b.created_local))),
    h("td", { dataset: { col: "name" } }, h("code", {}, b.name),
      b.encrypted ? h("span", { class: "cell-sub" }, "Encrypted") : null),
    h("td", { class: "nowrap", dataset: { col: "size", value: b.size } }, fileSize(b.size)),
    h("td", { dataset: { col: "verified", value: String(b.verified) } },
      b.verified ? badge("Matches", "ok") : badge("Damaged or changed", "warn")),
    h("td", {}, download));
}

const SCHEDULE = [
  {
    name: "backup_time", label: "Daily backup at", required: true, autocomplete: "off", class: "narrow",
    placeholder: "02:00", hint: "HH:MM on the clinic's clock (24-hour), or off for no daily backup.",
  },
  {
    name: "backup_keep", label: "Backups to keep", type: "number", required: true, min: "1", max: "365", step: "1",
    inputmode: "numeric", class: "narrow", hint: "1–365. Manual backups count too; the newest is always kept.",
  },
];

function restoreHelp() {
  return h("section", { class: "section narrow-section", dataset: { section: "restore" } },
    h("h2", {}, "Restoring a backup"),
    h("p", {}, "Restoring replaces every record, so it is done on the server computer, not here:"),
    h("ol", {},
      h("li", {}, "Stop clinicdesk (close it, or stop its service)."),
      h("li", {}, "Run ", h("code", {}, "clinicdesk restore <file>"), " with the backup file (its .sha256 file beside it). An encrypted backup asks for its passphrase."),
      h("li", {}, "Start clinicdesk again.")),
    h("p", { class: "muted" }, "The restore checks the file first and keeps the current database as clinicdesk.sqlite3.pre-restore-<time>; if a check fails, nothing changes."));
}

export default async function backupsView(el, ctx) {
  setTitle("Backups");
  const { signal } = ctx;
  const statusBox = h("div", { dataset: { role: "backup-status" } }, h("p", { class: "loading-text" }, "Loading backups…"));
  const now = h("button", { type: "button", class: "btn", dataset: { action: "backup-now" } }, "Back up now");
  const table = dataTable("backups", COLUMNS, { caption: "Backups" });
  const pagerBox = h("div", { class: "pager-box" });
  let page = 1;

  const settings = await api.get("/api/settings/", { signal });
  const form = h("form", { class: "form section narrow-section", dataset: { form: "backup-schedule" } },
    h("h2", {}, "Schedule"),
    SCHEDULE.map((s) => field({ ...s, value: settings[s.name] ?? "" })),
    h("div", { class: "form-actions" }, submitButton("Save schedule")));

  const loadStatus = async () => {
    try {
      const [status, health] = await Promise.all([
        api.get("/api/admin/backups/status", { signal }),
        api.get("/api/health", { signal }).catch(() => null),
      ]);
      statusBox.replaceChildren(...describe(status, health && health.replication));
    } catch (err) {
      if (err && err.name === "AbortError") return;
      statusBox.replaceChildren(h("p", { class: "alert-area alert-error" }, "The backup status could not be loaded."));
    }
  };
  const download = async (name, button) => {
    button.disabled = true;
    try {
      const { blob, filename } = await api.file(`/api/admin/backups/${encodeURIComponent(name)}`, {}, name, { signal });
      saveFile(blob, filename);
      showAlert(`${filename} is downloading. Keep it as safe as the clinic's records.`, "success");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      alertError(err, "Could not download the backup.");
    } finally {
      button.disabled = false;
    }
  };
  const loadList = async () => {
    table.table.dataset.state = "loading";
    stateRow(table.tbody, table.cols, "loading", "Loading…");
    try {
      const { items, total } = await api.list("/api/admin/backups/", { page, page_size: PAGE_SIZE }, { signal });
      if (!items.length) {
        stateRow(table.tbody, table.cols, "empty", "There are no backups in the backup folder yet.");
        table.table.dataset.state = "empty";
      } else {
        table.tbody.replaceChildren(...items.map((b) => row(b, download)));
        table.table.dataset.state = "ready";
      }
      pagerBox.replaceChildren(pager({ page, pageSize: PAGE_SIZE, total, onPage: (p) => { page = p; loadList(); } }));
    } catch (err) {
      if (err && err.name === "AbortError") return;
      table.table.dataset.state = "error";
      stateRow(table.tbody, table.cols, "error", `Could not load the backups. ${err.message}`, () => loadList());
    }
  };

  now.addEventListener("click", async () => {
    now.disabled = true;
    try {
      const made = await api.post("/api/admin/backups", null, { signal });
      showAlert(`Backup written: ${made.name} (${clinicTime(made.created_local)}, ${fileSize(made.size)}).`, "success");
      page = 1;
      await Promise.all([loadStatus(), loadList()]);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      alertError(err, "The backup failed:");
    } finally {
      now.disabled = false;
    }
  });
  onSubmit(form, async () => {
    const body = values(form, SCHEDULE);
    const saved = await api.patch("/api/settings/", body, { signal });
    showAlert(saved.backup_time === "off"
      ? "Schedule saved: no daily backup."
      : `Schedule saved: daily at ${saved.backup_time}, keeping ${saved.backup_keep}.`, "success");
    await loadStatus();
  });

  el.append(
    pageHeader("Backups", { sub: "Copies of the whole database, checked against their checksums.", actions: [now] }),
    h("section", { class: "section narrow-section", dataset: { section: "backups" } }, statusBox),
    table.wrap, pagerBox, form, restoreHelp());
  await Promise.all([loadStatus(), loadList()]);
}
