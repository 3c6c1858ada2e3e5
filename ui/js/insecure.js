// "This connection is not encrypted": plain http is only acceptable when the
// browser and the server are the same machine (loopback). From anywhere else,
// patient data and passwords cross the network readable by anyone on it.

/** Whether `hostname` (as in `location.hostname`) names this machine. */
export function isLoopback(hostname) {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "[::1]" || host === "::1") return true;
  // 127.0.0.0/8, written as four decimal parts.
  const parts = host.split(".");
  return parts.length === 4 && parts[0] === "127" && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Whether a page at `loc` (protocol + hostname) travels unencrypted over a network. */
export function isInsecure(loc) {
  return loc.protocol === "http:" && !isLoopback(loc.hostname);
}
