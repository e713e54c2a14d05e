// The audit log, read only: who did what, when, why, newest first, filtered by rule set and kind of action.
import { get, pages, paths } from "../api.js";
import { actionWords, h, loading, notice, replace, ruleLink, timeEl } from "../dom.js";
import { startShell } from "../shell.js";

startShell();
const root = document.getElementById("audit");
const rulesetSelect = document.getElementById("audit-ruleset");
const actionSelect = document.getElementById("audit-action");
const SIZE = 50;
let page = 1;
const ACTIONS = ["rule.create", "rule.update", "rule.rename", "rule.disable", "rule.enable", "rule.delete", "vocabulary.update",
  "settings.update", "tests.update", "ruleset.create", "ruleset.import", "version.restore", "release.request",
  "release.approve", "release.reject", "dataset.register", "user.create", "user.password", "user.disable", "user.enable",
  "user.password-reset", "user.unlock", "token.create", "token.revoke", "sign-in"];
const STATUS = { done: "done", pending: "in progress", failed: "not saved", refused: "refused" };
const REASONS = { ConflictError: "someone had saved first", HeadMoved: "too many saves at once" };
const titles = new Map();

async function show() {
  replace(root, loading("Loading the audit log…"));
  let data;
  try {
    data = await get(paths.audit(page, SIZE, { ruleset: rulesetSelect.value, action: actionSelect.value }));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  const pagesCount = Math.max(1, Math.ceil(data.total / SIZE));
  const button = (label, target) => {
    const b = h("button", { type: "button" }, label);
    b.addEventListener("click", () => { page = target; show(); });
    return b;
  };
  replace(root,
    h("div", { class: "table-wrap" }, h("table", { class: "history-table" },
      h("caption", { class: "visually-hidden" }, "Recorded actions, newest first"),
      h("thead", {}, h("tr", {}, ["When", "Who", "What", "Rule set", "Rule", "Why or comment", "Outcome"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, data.events.map((e) => h("tr", {},
        h("td", {}, timeEl(e.at)), h("td", {}, e.by || "the system"),
        h("td", {}, actionWords(e.action), e.details && e.details.name ? ` (${e.details.name})` : ""),
        h("td", {}, e.ruleset ? h("a", { href: pages.ruleset(e.ruleset) }, titles.get(e.ruleset) || e.ruleset) : ""),
        h("td", {}, e.ruleset && e.rule ? ruleLink(pages.ruleHistory(e.ruleset, e.rule), e.rule_name, e.rule) : ""),
        h("td", { class: "why" }, e.why || ""),
        h("td", {}, STATUS[e.status] || e.status,
          e.status === "refused" && e.details && e.details.refused ? `: ${e.details.refused}` : "",
          e.status === "failed" && e.details && e.details.reason ? `: ${REASONS[e.details.reason] || "it did not go through"}` : "")))))),
    h("div", { class: "pager" },
      page > 1 ? button("Newer", page - 1) : null,
      h("span", {}, `Page ${page} of ${pagesCount} (${data.total} entries)`),
      page < pagesCount ? button("Older", page + 1) : null));
}

async function start() {
  for (const action of ACTIONS) actionSelect.append(h("option", { value: action }, actionWords(action)));
  try {
    const data = await get(paths.rulesets());
    for (const rs of data.rulesets) {
      titles.set(rs.id, rs.title);
      rulesetSelect.append(h("option", { value: rs.id }, rs.title));
    }
  } catch { /* the filter stays at "All" */ }
  show();
}

document.getElementById("audit-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  page = 1;
  show();
});
start();
