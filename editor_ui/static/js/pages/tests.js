// Tests of a rule set (tests.csv, GET /api/rulesets/{id}/tests): each case with pass or fail at the current
// version (?version= an earlier one), failures first and in plain words; authors remove a test with a why.
import { get, paths, request } from "../api.js";
import { askWhy } from "../dialogs.js";
import { failureItem, failWords, parseCsv, passWords, writeCsv } from "../expected-tests.js";
import { can, h, loading, notice, pageData, replace } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const root = document.getElementById("tests");
const version = new URLSearchParams(window.location.search).get("version");

function answer(label) {
  return label === null || label === undefined ? "no answer" : label;
}

async function removeTest(result) {
  const done = await askWhy({
    title: `Remove the test “${result.case}”`,
    confirm: "Remove",
    run: async (why) => {
      const current = await request("GET", paths.tests(ruleset));
      const rows = parseCsv(current.data.csv || "");
      const column = rows[0].map((c) => c.trim()).indexOf("case");
      const kept = [rows[0], ...rows.slice(1).filter((r) => (r[column] || "").trim() !== result.case)];
      const csv = kept.length > 1 ? writeCsv(kept) : null;
      await request("PUT", paths.tests(ruleset), { body: { csv, why }, version: current.version });
    },
  });
  if (done) show();
}

function resultRow(r) {
  const remove = can("rules.write") && !version
    ? h("button", { type: "button", class: "link-button", "aria-label": `Remove… (the test ${r.case})` }, "Remove…") : null;
  if (remove) remove.addEventListener("click", () => removeTest(r));
  return h("tr", { class: r.passed ? "test-passed" : "test-failed" },
    h("th", { scope: "row" }, r.case),
    h("td", {}, h("span", { class: `badge ${r.passed ? "approved" : "rejected"}` }, r.passed ? "passes" : "fails")),
    h("td", {}, answer(r.expected)),
    h("td", {}, answer(r.answered), r.deciding && r.deciding.length ? h("span", { class: "muted" }, ` (decided by ${r.deciding.join(", ")})`) : ""),
    h("td", {}, r.note || ""),
    remove ? h("td", {}, remove) : null);
}

async function show() {
  fillTitle(ruleset);
  replace(root, loading("Running the tests…"));
  let data;
  try {
    data = await get(paths.tests(ruleset, version));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  // A release by its name; another version's id stays out of sight (the page's address holds it).
  const at = !version ? " at the latest version" : /^v\d+$/.test(version) ? ` in release ${version}` : " in an earlier version";
  if (!data.valid) {
    replace(root, notice(`The tests file has mistakes, so no case was run${at}. Fix them in tests.csv (or download the workbook, fix its tests sheet and upload it):`, "error"),
      h("ul", {}, data.problems.map((p) => h("li", {}, p.line ? `Line ${p.line}: ` : "", p.message))));
    return;
  }
  if (!data.cases) {
    replace(root, notice("No tests yet. Open a rule, try it on cases, and choose “Keep this case as a test” on a case whose answer you know."));
    return;
  }
  const results = [...data.results].sort((a, b) => Number(a.passed) - Number(b.passed) || a.line - b.line);
  const writable = can("rules.write") && !version;
  replace(root,
    h("p", { class: data.failed ? "notice warning tests-summary" : "notice ok tests-summary", role: "status" },
      data.failed ? `${failWords(data.failed, data.cases)}${at}.` : `${passWords(data.cases)}${at}.`),
    data.failed ? h("section", { "aria-labelledby": "failing-title" }, h("h2", { id: "failing-title" }, "What fails, in plain words"),
      h("ul", { class: "test-failures" }, data.failures.map(failureItem))) : null,
    h("div", { class: "table-wrap" }, h("table", { class: "tests" },
      h("caption", {}, data.failed ? "Every test, failing ones first (what fails is said above)" : "Every test"),
      h("thead", {}, h("tr", {}, ["Case", "Result", "Expected", "The rules answered", "Note", ...(writable ? ["Change"] : [])]
        .map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, results.map(resultRow)))));
}

show();
