// "Try it": how many of the rule set's example cases and of the reference cases the rule matches, with a few of
// them and a few near misses (every condition but one holds; the one that failed is named).
import { h, plural, replace } from "./dom.js";

function cell(value) {
  if (value === null || value === undefined) return h("td", { class: "missing" }, "missing");
  if (typeof value === "boolean") return h("td", {}, value ? "yes" : "no");
  return h("td", { class: typeof value === "number" ? "number" : "" }, String(value));
}

// "Keep as a test" on a row (authors, when the page gives onKeep): the case's values go to the rule set's tests.
function keepCell(row, onKeep) {
  if (!onKeep) return null;
  // the visible words first (what people say to a speech control), then which case
  const label = row.values.case !== undefined && row.values.case !== null ? `case ${row.values.case}` : `row ${row.row + 1}`;
  const button = h("button", { type: "button", class: "link-button keep-test", "aria-label": `Keep as a test… (${label})` },
    "Keep as a test…");
  button.addEventListener("click", () => onKeep(row));
  return h("td", {}, button);
}

function table(caption, result, rows, outcome, withMiss, onKeep) {
  if (!rows.length) return null;
  const columns = result.columns || Object.keys(rows[0].values);
  const numbered = !columns.includes("case");
  return h("div", { class: "table-wrap" }, h("table", { class: "cases" },
    h("caption", {}, caption),
    // "Not met" (the condition that failed: the most useful column) comes first, so that it is in sight without
    // scrolling past thirty features.
    h("thead", {}, h("tr", {},
      numbered ? h("th", { scope: "col" }, "Row") : null,
      withMiss ? h("th", { scope: "col" }, "Not met") : null,
      onKeep ? h("th", { scope: "col" }, "Test") : null,
      columns.map((c) => h("th", { scope: "col" }, c === outcome ? `${c} (recorded)` : c)))),
    h("tbody", {}, rows.map((row) => h("tr", {},
      numbered ? h("td", { class: "number muted" }, String(row.row + 1)) : null,
      withMiss ? h("td", { class: "missed" }, row.missed || "") : null,
      keepCell(row, onKeep),
      columns.map((c) => cell(row.values[c])))))));
}

function section(title, result, outcome, onKeep) {
  if (!result) return null;
  if (result.error) return h("section", { class: "try-section" }, h("h3", {}, title), h("p", { class: "notice warning" }, result.error));
  const summary = [h("strong", { class: "match-count" }, `Matches ${result.matched} of ${plural(result.total, "case")}`)];
  if (result.precision !== undefined) {
    summary.push(`; ${Math.round(result.precision * 100)}% of those were really “${result.label}”`);
  }
  summary.push(".");
  if (result.near_miss_count) summary.push(` ${plural(result.near_miss_count, "near miss", "near misses")}: every condition but one holds.`);
  return h("section", { class: "try-section" },
    h("h3", {}, title),
    h("p", { class: "try-summary" }, summary),
    table(result.matched > result.matches.length ? `First ${result.matches.length} matching cases` : "Matching cases", result, result.matches, outcome, false, onKeep),
    table(result.near_miss_count > result.near_misses.length ? `First ${result.near_misses.length} near misses` : "Near misses", result, result.near_misses, outcome, true, onKeep));
}

// onKeep(row): offered on every row ("Keep this case as a test"); left out, the tables are read only.
export function renderTry(root, check, outcome, { onKeep = null } = {}) {
  if (!check) {
    replace(root, h("p", { class: "muted" }, "Start writing the rule to see which cases it matches."));
    return;
  }
  if (!check.valid) {
    replace(root, h("p", { class: "muted" }, "When the rule is complete and has no mistakes, you see here which cases it matches."));
    return;
  }
  if (!check.examples && !check.reference) {
    replace(root, h("p", { class: "muted" }, "This rule set has no example cases and no reference cases yet, so there is nothing to try the rule on."));
    return;
  }
  replace(root,
    section("Example cases of this rule set", check.examples, outcome, onKeep),
    check.reference ? section(`Reference cases: ${check.reference.dataset.name}`, check.reference, outcome, onKeep) : null);
}

// The short version for the side panel: how many cases match, with a link to the tables.
export function renderTryCounts(root, check) {
  if (!check || !check.valid) {
    replace(root, h("p", { class: "muted" }, "Shown when the rule is complete."));
    return;
  }
  const line = (title, result) => (result && !result.error ? h("li", {}, h("strong", {}, `${result.matched} of ${result.total}`), ` ${title}`,
    result.precision !== undefined ? ` (${Math.round(result.precision * 100)}% really “${result.label}”)` : "") : null);
  const items = [line("example cases", check.examples), check.reference ? line(`reference cases (${check.reference.dataset.name})`, check.reference) : null].filter(Boolean);
  replace(root, items.length ? h("ul", { class: "counts" }, items) : h("p", { class: "muted" }, "No cases to try the rule on yet."),
    items.length ? h("p", {}, h("a", { href: "#try-it" }, "See the cases and near misses")) : null);
}
