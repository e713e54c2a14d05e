// Logic check of a rule set: every finding of rules_dsl/verify.py (GET /api/rulesets/{id}/findings), grouped by
// kind, each with its example case. ?version= shows an earlier version.
import { get } from "../api.js";
import { h, loading, notice, pageData, plural, replace } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const root = document.getElementById("findings");
const KINDS = [
  ["conflict", "Rules that disagree on the same case"],
  ["redundant", "Rules that add nothing"],
  ["unreachable", "Rules that never get to decide"],
  ["never", "Conditions that can never be true"],
  ["always", "Conditions that are always true"],
  ["gap", "Cases no rule concludes on"],
  ["not analysed", "Not analysed"],
];

function witnessTable(witness) {
  const entries = Object.entries(witness || {});
  if (!entries.length) return null;
  // folded: the message already gives the case in words; the table is for reading it value by value
  return h("details", {}, h("summary", {}, "The example case, value by value"),
    h("table", { class: "witness" }, h("caption", {}, "Example case"),
      h("tbody", {}, entries.map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name),
        h("td", {}, value === null ? "missing" : value === true ? "yes" : value === false ? "no" : String(value)))))));
}

async function main() {
  fillTitle(ruleset);
  replace(root, loading("Checking the logic…"));
  const version = new URLSearchParams(window.location.search).get("version");
  try {
    const path = `/api/rulesets/${encodeURIComponent(ruleset)}/findings${version ? `?version=${encodeURIComponent(version)}` : ""}`;
    const data = await get(path);
    if (!data.findings.length) {
      replace(root, notice("Nothing found: no conflicts, no rules that add nothing or never decide, and every case within the ranges is concluded on.", "info"));
      return;
    }
    const sections = KINDS.map(([kind, title]) => {
      const found = data.findings.filter((f) => f.kind === kind);
      if (!found.length) return null;
      return h("section", { class: "findings-kind", id: `kind-${kind.replace(" ", "-")}` },
        h("h2", {}, `${title} (${found.length})`),
        h("ul", { class: "findings" }, found.map((f) => h("li", { class: `finding finding-${kind.replace(" ", "-")}` },
          h("p", {}, f.message), witnessTable(f.witness)))));
    });
    replace(root, h("p", { class: "muted" }, `${plural(data.findings.length, "finding")}.`), ...sections.filter(Boolean));
  } catch (e) {
    replace(root, notice(e.message, "error"));
  }
}

main();
