// Automatic logoff. After 15 minutes without keyboard, mouse or touch input
// (in any tab of this clinicdesk) the session ends and the screen is cleared;
// a warning shows during the last minute.
//
// Tests may shorten the limits by setting, at any time,
//   document.documentElement.dataset.idleSeconds / .idleWarningSeconds
// (read on every tick). Nothing else reads them.

import { $ } from "./dom.js";
import * as session from "./session.js";

const EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "input"];
let last = Date.now();
let lastBroadcast = 0;
let ticker = null;
let onTimeout = () => {};

function limits() {
  const ds = document.documentElement.dataset;
  const idle = Number(ds.idleSeconds) > 0 ? Number(ds.idleSeconds) : 15 * 60;
  const warn = Number(ds.idleWarningSeconds) > 0 ? Number(ds.idleWarningSeconds) : 60;
  return { idle, warn: Math.min(warn, idle) };
}

function activity(remote = false) {
  last = Date.now();
  if (!ticker) return;
  hideWarning();
  session.touch();
  // Let other tabs know (at most every 15 s) so a second tab does not log out a busy user.
  if (!remote && last - lastBroadcast > 15000) {
    lastBroadcast = last;
    session.broadcastActivity();
  }
}

session.setActivitySource(() => last);
session.onRemoteActivity(() => activity(true));
for (const ev of EVENTS) addEventListener(ev, () => activity(), { passive: true, capture: true });
document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });

function warning() { return $('[data-role="idle-warning"]'); }
function hideWarning() { const w = warning(); if (w && !w.hidden) w.hidden = true; }

function tick() {
  if (!ticker) return;
  const { idle, warn } = limits();
  const idleFor = (Date.now() - last) / 1000;
  if (idleFor >= idle) {
    stop();
    onTimeout();
  } else if (idleFor >= idle - warn) {
    const w = warning();
    $('[data-role="idle-countdown"]', w).textContent = String(Math.ceil(idle - idleFor));
    w.hidden = false;
  } else {
    hideWarning();
  }
}

/** Starts watching (after sign-in). `timeout` runs once when the limit is reached. */
export function start(timeout) {
  onTimeout = timeout;
  last = Date.now();
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
}

export function stop() {
  clearInterval(ticker);
  ticker = null;
  hideWarning();
}
