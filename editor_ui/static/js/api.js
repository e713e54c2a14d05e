// Talking to the Rulecraft API from the browser: the session cookie goes along by itself; every write also sends
// the CSRF token the page shell carries. Errors come back as ApiError with the server's plain message.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || "";
    this.details = error;
    this.problems = error.problems || [];
    this.field = error.field || null;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function versionFrom(response) {
  const tag = response.headers.get("ETag");
  return tag ? tag.replace(/^W\//, "").replace(/"/g, "") : null;
}

// A save's name (the Idempotency-Key header). The same change sent again (after "cannot be reached", or an answer
// that never arrived) carries the same name, so the server answers "already saved" instead of a conflict with the
// person's own change. A change is a save when it carries a why; its name is forgotten once it is answered.
const saveKeys = new Map();

function saveKey(change) {
  if (!saveKeys.has(change)) saveKeys.set(change, newUuid());
  return saveKeys.get(change);
}

function newUuid() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();  // only in secure contexts (https, loopback)
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// One request. Returns {data, version} where version is the saved version the answer is about (if any).
export async function request(method, path, { body, version, signal, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (version) headers["If-Match"] = `"${version}"`;
  const change = method !== "GET" && body && typeof body === "object" && "why" in body
    ? `${method} ${path} ${version || ""} ${JSON.stringify(body)}` : null;
  if (change) headers["Idempotency-Key"] = saveKey(change);
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { error: { message: "Rulecraft cannot be reached. Check your connection and try again." } });
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (error.code === "csrf" && !retried && await refreshToken()) {
      // Signed in again (in another tab): the page's token is stale; take the new one and try once more.
      return request(method, path, { body, version, signal, retried: true });
    }
    if (response.status === 401 && !path.startsWith("/api/session")) signedOut(error);
    if (error.code === "password-change-required") window.location.assign("/password");
    if (response.status < 500) saveKeys.delete(change);  // answered (refused, not failed): a new try is a new save
    throw error;
  }
  saveKeys.delete(change);
  return { data, version: versionFrom(response) };
}

async function refreshToken() {
  try {
    const response = await fetch("/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return false;
    const me = await response.json();
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (!me.csrf_token || !meta || meta.content === me.csrf_token) return false;
    meta.content = me.csrf_token;
    return true;
  } catch {
    return false;
  }
}

// Sending a file as it is (a CSV of reference cases), with the CSRF token; errors as for every other request.
export async function upload(path, file, contentType) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": contentType, "X-CSRF-Token": csrfToken() },
    });
  } catch {
    throw new ApiError(0, { error: { message: "Rulecraft cannot be reached. Check your connection and try again." } });
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    if (response.status === 413 && !(data && data.error)) {
      data = { error: { message: "The file is too large to add.", field: "file" } };
    }
    const error = new ApiError(response.status, data);
    if (response.status === 401) signedOut(error);
    throw error;
  }
  return data;
}

export async function get(path, options) { return (await request("GET", path, options)).data; }
export async function post(path, body, options = {}) { return (await request("POST", path, { ...options, body })).data; }

// What happens when the session has ended: by default, the sign-in page (and back here afterwards). The editor
// replaces this, so that a rule being written is not lost to a page change.
let signedOut = () => goSignIn();

export function onSignedOut(handler) {
  signedOut = handler;
}

export function goSignIn() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/sign-in?next=${encodeURIComponent(here)}`);
}

// Paths of the API, with every piece from outside encoded.
const e = encodeURIComponent;
export const paths = {
  rulesets: () => "/api/rulesets",
  ruleset: (rs, version) => `/api/rulesets/${e(rs)}${version ? `?version=${e(version)}` : ""}`,
  rules: (rs, version) => `/api/rulesets/${e(rs)}/rules${version ? `?version=${e(version)}` : ""}`,
  rule: (rs, id, version) => `/api/rulesets/${e(rs)}/rules/${e(id)}${version ? `?version=${e(version)}` : ""}`,
  ruleHistory: (rs, id, page, size = 20) => `/api/rulesets/${e(rs)}/rules/${e(id)}/history?page=${page}&per_page=${size}`,
  history: (rs, page, size = 20) => `/api/rulesets/${e(rs)}/history?page=${page}&per_page=${size}`,
  versionInfo: (rs, version) => `/api/rulesets/${e(rs)}/versions/${e(version)}`,
  blame: (rs, id, version) => `/api/rulesets/${e(rs)}/rules/${e(id)}/blame${version ? `?version=${e(version)}` : ""}`,
  diff: (rs, from, to) => `/api/rulesets/${e(rs)}/diff?from=${e(from)}${to ? `&to=${e(to)}` : ""}`,
  vocabulary: (rs) => `/api/rulesets/${e(rs)}/vocabulary`,
  settings: (rs) => `/api/rulesets/${e(rs)}/settings`,
  restore: (rs) => `/api/rulesets/${e(rs)}/restore`,
  releases: (rs) => `/api/rulesets/${e(rs)}/releases`,
  tests: (rs, version) => `/api/rulesets/${e(rs)}/tests${version ? `?version=${e(version)}` : ""}`,
  shadow: (rs) => `/api/rulesets/${e(rs)}/shadow`,
  draft: (rs) => `/api/rulesets/${e(rs)}/releases/draft`,
  decide: (rs, id, how) => `/api/rulesets/${e(rs)}/releases/${e(id)}/${how}`,
  bundle: (rs, version) => `/api/rulesets/${e(rs)}/bundle?version=${e(version)}`,
  table: (rs, version) => `/api/rulesets/${e(rs)}/table${version ? `?version=${e(version)}` : ""}`,
  workbook: (rs, version) => `/api/rulesets/${e(rs)}/workbook${version ? `?version=${e(version)}` : ""}`,
  tableCheck: (rs) => `/api/rulesets/${e(rs)}/table/check`,
  workbookPreview: (rs) => `/api/rulesets/${e(rs)}/workbook/preview`,
  datasets: (rs) => `/api/rulesets/${e(rs)}/datasets`,
  dataset: (rs, id, rows = 5) => `/api/rulesets/${e(rs)}/datasets/${e(id)}?rows=${rows}`,
  register: (rs, { name, label, groups }) => {
    const q = new URLSearchParams({ name });
    if (label) q.set("label", label);
    if (groups && groups.length) q.set("group", groups.join(","));
    return `/api/rulesets/${e(rs)}/datasets?${q}`;
  },
  analysis: (rs, { version, dataset, group } = {}) => {
    const q = new URLSearchParams();
    if (version) q.set("version", version);
    if (dataset) q.set("dataset", dataset);
    if (group) q.set("group", group);
    return `/api/rulesets/${e(rs)}/analysis${q.toString() ? `?${q}` : ""}`;
  },
  impact: (rs, from, to, { dataset, group } = {}) => {
    const q = new URLSearchParams({ from });
    if (to) q.set("to", to);
    if (dataset) q.set("dataset", dataset);
    if (group) q.set("group", group);
    return `/api/rulesets/${e(rs)}/impact?${q}`;
  },
  check: () => "/api/check",
  suggestions: (rs) => `/api/rulesets/${e(rs)}/suggestions`,
  explore: (rs) => `/api/rulesets/${e(rs)}/explore`,
  improve: (rs) => `/api/rulesets/${e(rs)}/improve`,
  audit: (page, size, filters = {}) => {
    const q = new URLSearchParams({ page, per_page: size });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    return `/api/audit?${q}`;
  },
};

// Paths of the pages.
export const pages = {
  home: () => "/",
  ruleset: (rs, version) => `/rulesets/${e(rs)}${version ? `?version=${e(version)}` : ""}`,
  rule: (rs, id, version) => `/rulesets/${e(rs)}/rules/${e(id)}${version ? `?version=${e(version)}` : ""}`,
  newRule: (rs) => `/rulesets/${e(rs)}/rules/new`,
  ruleHistory: (rs, id) => `/rulesets/${e(rs)}/rules/${e(id)}/history`,
  blame: (rs, id, version) => `/rulesets/${e(rs)}/rules/${e(id)}/blame${version ? `?version=${e(version)}` : ""}`,
  history: (rs) => `/rulesets/${e(rs)}/history`,
  table: (rs) => `/rulesets/${e(rs)}/table`,
  compare: (rs, from, to, rule) => {
    const q = new URLSearchParams();
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    if (rule) q.set("rule", rule);
    const query = q.toString();
    return `/rulesets/${e(rs)}/compare${query ? `?${query}` : ""}`;
  },
  vocabulary: (rs) => `/rulesets/${e(rs)}/vocabulary`,
  releases: (rs) => `/rulesets/${e(rs)}/releases`,
  analysis: (rs, { version, dataset, group } = {}) => {
    const q = new URLSearchParams();
    if (version) q.set("version", version);
    if (dataset) q.set("dataset", dataset);
    if (group) q.set("group", group);
    return `/rulesets/${e(rs)}/analysis${q.toString() ? `?${q}` : ""}`;
  },
  referenceCases: (rs) => `/rulesets/${e(rs)}/reference-cases`,
  tests: (rs) => `/rulesets/${e(rs)}/tests`,
  suggestions: (rs) => `/rulesets/${e(rs)}/suggestions`,
};
