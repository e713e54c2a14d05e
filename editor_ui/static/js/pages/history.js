// The versions of a rule set or of one rule: who, when, why, newest first, a page at a time; open one, compare
// two, bring one back.
import { get, pages, paths } from "../api.js";
import { actionWords, can, h, loading, notice, pageData, replace, ruleLink, timeEl, uid, when } from "../dom.js";
import { fillTitle, restoreVersion } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset, rule } = pageData();
const root = document.getElementById("history");
const SIZE = 20;
let page = Number(new URLSearchParams(window.location.search).get("page")) || 1;

async function show() {
  replace(root, loading("Loading the history…"));
  let data;
  try {
    data = await get(rule ? paths.ruleHistory(ruleset, rule, page, SIZE) : paths.history(ruleset, page, SIZE));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  if (rule) {
    let name = null;
    try {
      name = (await get(paths.rule(ruleset, rule))).name;
    } catch { /* a deleted rule still has a history: its name as of its newest version */
      const named = data.versions.find((v) => v.rule === rule && v.rule_name);
      name = named ? named.rule_name : null;
    }
    if (name) document.getElementById("history-title").textContent = `History of “${name}”`;
  }
  const pagesCount = Math.max(1, Math.ceil(data.total / SIZE));
  const rows = data.versions.map((v, i) => {
    const fromId = uid("from");
    const toId = uid("to");
    const index = (page - 1) * SIZE + i;
    return h("tr", {},
      h("td", {}, h("input", { type: "radio", name: "from", id: fromId, value: v.version, checked: index === 1 }),
        h("label", { for: fromId, class: "visually-hidden" }, `Compare from the version of ${v.author}, ${when(v.time)}`)),
      h("td", {}, h("input", { type: "radio", name: "to", id: toId, value: v.version, checked: index === 0 }),
        h("label", { for: toId, class: "visually-hidden" }, `Compare to the version of ${v.author}, ${when(v.time)}`)),
      h("td", {}, timeEl(v.time), v.release ? [" ", h("span", { class: "badge approved" }, `release ${v.release}`)] : null),
      h("td", {}, v.author),
      h("td", {}, actionWords(v.action), v.rule && !rule ? [" (", ruleLink(pages.ruleHistory(ruleset, v.rule), v.rule_name, v.rule), ")"] : null),
      h("td", { class: "why" }, v.why),
      h("td", {}, h("a", { href: rule ? pages.rule(ruleset, rule, v.version) : pages.ruleset(ruleset, v.version) }, "Open"),
        can("rules.write") && index > 0 ? [" ", restoreButton(v)] : null));
  });
  const compare = h("button", { type: "button", class: "primary" }, "Compare the two chosen versions");
  compare.addEventListener("click", () => {
    const from = root.querySelector("input[name=from]:checked");
    const to = root.querySelector("input[name=to]:checked");
    if (!from || !to) return;
    window.location.assign(pages.compare(ruleset, from.value, to.value, rule));
  });
  const pager = h("div", { class: "pager" },
    page > 1 ? pagerButton("Newer versions", page - 1) : null,
    h("span", {}, `Page ${page} of ${pagesCount} (${data.total} versions)`),
    page < pagesCount ? pagerButton("Older versions", page + 1) : null);
  replace(root,
    data.total > 1 ? h("div", { class: "actions" }, compare, h("span", { class: "hint" }, "Choose “from” and “to” in the first two columns.")) : null,
    h("div", { class: "table-wrap" }, h("table", { class: "history-table" },
      h("caption", { class: "visually-hidden" }, "Saved versions, newest first"),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "To"), h("th", { scope: "col" }, "When"),
        h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Why"),
        h("th", { scope: "col" }, ""))),
      h("tbody", {}, rows))),
    pager);
}

function restoreButton(v) {
  const button = h("button", { type: "button", class: "small" }, rule ? "Bring back…" : "Bring back…");
  button.addEventListener("click", () => restoreVersion(ruleset, v.version, rule || null, { author: v.author, time: v.time }));
  return button;
}

function pagerButton(label, target) {
  const button = h("button", { type: "button" }, label);
  button.addEventListener("click", () => {
    page = target;
    const url = new URL(window.location.href);
    url.searchParams.set("page", String(page));
    window.history.pushState(null, "", url);
    show();
  });
  return button;
}

window.addEventListener("popstate", () => {
  page = Number(new URLSearchParams(window.location.search).get("page")) || 1;
  show();
});
fillTitle(ruleset);
show();
