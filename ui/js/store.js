// In-memory state that should survive moving between screens (list filters,
// the page you were on) but never a sign-out: `resetAll()` runs on logout.
// Nothing here is ever written to localStorage/sessionStorage.

const states = new Map();

export function memo(key, init) {
  if (!states.has(key)) states.set(key, init());
  return states.get(key);
}

export function resetAll() {
  states.clear();
}
