// The "Backups" section of Settings (admin): when the last good backup was
// made, a warning when that is more than a day ago (or never), the daily
// schedule, the last failure, and a button to back up now.

import { h } from "../dom.js";
import * as api from "../api.js";
import { dateTime } from "../fmt.js";
import { alertError, showAlert } from "../ui.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether the newest good backup is missing or older than a day. */
export function isStale(status, now = Date.now()) {
  const newest = status.newest;
  if (!newest || !newest.verified) return true;
  return now - new Date(newest.created_at).getTime() > DAY_MS;
}

function describe(status) {
  const newest = status.newest;
  const schedule = status.backup_time === "off"
    ? "Daily backups are off."
    : `Daily at ${status.backup_time}, keeping the newest ${status.backup_keep}, in ${status.backup_dir}.`;
  const parts = [
    h("p", { dataset: { role: "last-backup" } },
      newest ? `Last backup: ${dateTime(newest.created_at)}${newest.verified ? "" : " (it no longer matches its checksum)"}.` : "No backup has been made yet."),
    h("p", { class: "muted" }, schedule),
  ];
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

/** The section; fills itself and refreshes after "Back up now". */
export function backupSection(signal) {
  const body = h("div", {}, h("p", { class: "loading-text" }, "Loading backups…"));
  const button = h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "backup-now" } }, "Back up now");
  const load = async () => {
    try {
      body.replaceChildren(...describe(await api.get("/api/admin/backups/status", { signal })));
    } catch (err) {
      if (err && err.name === "AbortError") return;
      body.replaceChildren(h("p", { class: "alert-area alert-error" }, "The backup status could not be loaded."));
    }
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const made = await api.post("/api/admin/backups", null);
      showAlert(`Backup written: ${made.name}.`, "success");
      await load();
    } catch (err) {
      alertError(err, "The backup failed:");
    } finally {
      button.disabled = false;
    }
  });
  load();
  return h("section", { class: "section narrow-section", dataset: { section: "backups" } },
    h("div", { class: "section-head" }, h("h2", {}, "Backups"), button),
    body);
}
