// One rule, read only (reviewers, auditors, and anyone looking at an earlier version): what it says, its details,
// and what it matches on the example and reference cases.
import { get, paths, post } from "../api.js";
import { h, loading, notice, pageData, replace, timeEl } from "../dom.js";
import { fillTitle, versionBanner } from "../rulesets-common.js";
import { startShell } from "../shell.js";
import { renderTry } from "../try-it.js";

startShell();
const { ruleset, rule: ruleId, version } = pageData();
const root = document.getElementById("rule-view");

async function show() {
  fillTitle(ruleset);
  versionBanner(document.getElementById("version-banner"), ruleset, version, { rule: ruleId });
  replace(root, loading());
  let rule;
  try {
    rule = await get(paths.rule(ruleset, ruleId, version));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  document.getElementById("rule-title").textContent = rule.name;
  document.title = `${rule.name} · Rulecraft`;
  const c = rule.conclusion;
  const tryRoot = h("div", {}, loading("Trying the rule on cases…"));
  replace(root,
    h("div", { class: "section-card" },
      h("h2", {}, "The rule reads"),
      h("pre", { class: "rule-text", id: "rule-text-view" }, rule.text),
      h("dl", { class: "facts" },
        h("dt", {}, "In use"), h("dd", {}, rule.enabled ? "yes" : "no (taken out of use)"),
        h("dt", {}, "Priority"), h("dd", {}, String(rule.priority)),
        h("dt", {}, "Concludes"), h("dd", {}, c ? `${c.outcome} is “${c.label}”${c.confidence != null ? ` with confidence ${c.confidence}` : ""}` : "nothing (it only marks cases)"),
        h("dt", {}, "Because"), h("dd", {}, rule.because || "—"),
        h("dt", {}, "Last changed"), h("dd", {}, rule.last_change
          ? [rule.last_change.by, ", ", timeEl(rule.last_change.at), rule.last_change.why ? `: “${rule.last_change.why}”` : ""] : "—"))),
    h("section", { class: "try-panel" }, h("h2", {}, "Try it on cases"), tryRoot));
  try {
    const result = await post(paths.check(), { ruleset, text: rule.text, ...(version ? { version } : {}) });
    renderTry(tryRoot, result, rule.conclusion ? rule.conclusion.outcome : "");
  } catch (e) {
    replace(tryRoot, notice(e.message, "error"));
  }
}

show();
