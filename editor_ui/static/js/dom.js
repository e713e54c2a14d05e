// Building pages safely: every value goes in as text (textContent / text nodes), never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") el[key] = true;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

export function timeEl(iso) {
  return h("time", { datetime: iso || "" }, when(iso));
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

let counter = 0;
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A message box on the page (role=status for news, role=alert for problems).
export function notice(text, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

// Plain words for what a saved version did.
const ACTIONS = {
  "rule.create": "added a rule", "rule.update": "changed a rule", "rule.rename": "renamed a rule",
  "rule.disable": "took a rule out of use", "rule.enable": "put a rule back in use", "rule.delete": "deleted a rule",
  "vocabulary.update": "changed the vocabulary", "settings.update": "changed the outcome or settings",
  "tests.update": "changed the expected outcomes (tests)",
  "ruleset.create": "created the rule set", "ruleset.import": "brought in the rule set",
  "ruleset.workbook": "saved changes from a workbook",
  "ruleset.table": "edited the decision table",
  "version.restore": "brought back an earlier version", "release.request": "asked for a release",
  "release.approve": "approved a release", "release.reject": "turned down a release",
  "dataset.register": "added reference cases", "user.create": "added a person", "user.password": "changed a password",
  "user.disable": "disabled a person", "user.enable": "enabled a person again",
  "user.password-reset": "gave a person a one-time password", "user.unlock": "forgot a person's failed sign-ins",
  "token.create": "made a key for scripts", "token.revoke": "withdrew a key for scripts",
  "sign-in": "signed in",
};

export function actionWords(action) {
  return ACTIONS[action] || (action ? action.replace(/[._-]/g, " ") : "saved a change");
}

export function can(permission) {
  return (document.body.dataset.permissions || "").split(" ").includes(permission);
}

export function me() {
  return document.body.dataset.me || "";
}

export function sameName(a, b) {
  const norm = (s) => (s || "").normalize("NFKC").toLocaleLowerCase().split(/\s+/).filter(Boolean).join(" ");
  return norm(a) === norm(b);
}

export function pageData() {
  return document.getElementById("main").dataset;
}

// A rule as people know it: by its name, with its id (a file name, for engineers) only in the tooltip; the id is
// the text only when the server could not tell the name.
export function ruleLink(href, name, id) {
  return h("a", { href, title: name && id ? `rule id: ${id}` : null }, name || id);
}

// A release in a list of versions, dated by both its times, labelled (its rules were saved before either).
export function releaseWords(r) {
  return `Release ${r.name} (asked for ${when(r.requested_at)}, approved ${when(r.decided_at)})`;
}
