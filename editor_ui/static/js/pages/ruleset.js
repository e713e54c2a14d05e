import { get, pages, paths } from "../api.js";
import { can, h, loading, notice, pageData, plural, replace, when } from "../dom.js";
import { fillTitle, ruleBody, versionBanner } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset, version } = pageData();
const root = document.getElementById("rules");
const search = document.getElementById("rule-search");
const count = document.getElementById("rule-count");
let rows = [];

function filter() {
  const words = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const { row, haystack } of rows) {
    const visible = words.every((w) => haystack.includes(w));
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  count.textContent = words.length ? `${shown} of ${plural(rows.length, "rule")}` : plural(rows.length, "rule");
}

// What became of the cases of the file a new rule set was started from (new-ruleset.js keeps the server's word
// for this page): kept as reference cases or examples, or not kept, and why.
function keptCases(id) {
  const key = `rulecraft.created-cases.${id}`;
  let cases = null;
  try {
    cases = JSON.parse(sessionStorage.getItem(key) || "null");
    sessionStorage.removeItem(key);
  } catch { cases = null; }
  if (!cases || !cases.message) return null;
  return notice(cases.message, cases.kept ? "ok" : "warning");
}

async function show() {
  replace(root, loading("Loading the rules…"));
  fillTitle(ruleset).then((rs) => {
    if (rs && rs.description) document.getElementById("ruleset-description").textContent = rs.description;
  });
  versionBanner(document.getElementById("version-banner"), ruleset, version);
  let data;
  try {
    data = await get(paths.rules(ruleset, version));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  // No rules: nothing to search, so no search box that looks as if it could find something.
  document.getElementById("search-row").hidden = !data.rules.length;
  if (!data.rules.length) {
    const created = new URLSearchParams(window.location.search).has("created");
    replace(root, created ? notice("The rule set is created.", "ok") : null, created ? keptCases(ruleset) : null,
      h("p", { class: "notice info", role: "status" }, "This rule set has no rules yet.",
        can("rules.write") && !version ? [" ", h("a", { href: pages.newRule(ruleset) }, "Write the first rule")] : null));
    return;
  }
  const sorted = [...data.rules].sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
  rows = sorted.map((rule) => {
    const change = rule.last_change;
    const row = h("tr", { class: rule.enabled ? "" : "disabled-rule" },
      h("th", { scope: "row" }, h("a", { href: pages.rule(ruleset, rule.id, version) }, rule.name)),
      h("td", {}, h("pre", { class: "rule-text small" }, ruleBody(rule.text))),
      h("td", {}, rule.enabled ? "yes" : h("span", { class: "badge off" }, "no")),
      h("td", { class: "number" }, String(rule.priority)),
      h("td", { class: "changed" }, change ? [h("span", { class: "who" }, change.by), h("br"), when(change.at),
        change.why ? h("span", { class: "why" }, `“${change.why}”`) : null] : "—"));
    return { row, haystack: `${rule.name}\n${rule.text}`.toLocaleLowerCase() };
  });
  replace(root, h("div", { class: "table-wrap" }, h("table", { class: "rules-table" },
    h("caption", { class: "visually-hidden" }, "Rules of this rule set, highest priority first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "The rule"), h("th", { scope: "col" }, "In use"),
      h("th", { scope: "col" }, "Priority"), h("th", { scope: "col" }, "Last changed"))),
    h("tbody", {}, rows.map((r) => r.row)))));
  filter();
}

search.addEventListener("input", filter);
show();
