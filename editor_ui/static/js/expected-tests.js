// Expected outcomes (tests.csv) from the pages: "Keep this case as a test" (try-it), the tests that fail after a
// save (rule editor), and the CSV the file is written in. The file is changed only through
// PUT /api/rulesets/{id}/tests with the version it was read at (If-Match) and the person's why.
import { ApiError, pages, paths, request } from "./api.js";
import { askWhy } from "./dialogs.js";
import { h, plural, uid } from "./dom.js";

const NO_ANSWER = "no answer";
const RESERVED = ["case", "expect", "expect fires", "note"];

// CSV as the server reads it: commas, double quotes around values holding a comma, a quote or a line break.
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let value = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { value += '"'; i += 1; } else if (c === '"') quoted = false; else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(value); value = ""; } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(value);
      rows.push(row);
      row = [];
      value = "";
    } else value += c;
  }
  if (value !== "" || row.length) { row.push(value); rows.push(row); }
  return rows.filter((r) => r.some((v) => v.trim() !== ""));
}

function csvValue(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function writeCsv(rows) {
  return rows.map((r) => r.map(csvValue).join(",")).join("\n") + "\n";
}

// The file with one more case: new feature columns are added (empty for the cases already there).
export function withCase(csv, testCase) {
  const rows = csv ? parseCsv(csv) : [];
  const header = rows.length ? rows[0].map((c) => c.trim()) : ["case"];
  const body = rows.slice(1);
  const wanted = [...Object.keys(testCase.values), "expect", ...(testCase.note ? ["note"] : [])];
  for (const column of wanted) {
    if (!header.includes(column)) {
      header.push(column);
      for (const r of body) r.push("");
    }
  }
  const cells = { ...testCase.values, case: testCase.name, expect: testCase.expect, note: testCase.note || "" };
  body.push(header.map((c) => (c in cells ? (cells[c] === null ? "" : cells[c]) : "")));
  return writeCsv([header, ...body]);
}

// The case's values in the tests file's columns: the vocabulary's features only (the recorded outcome and other
// columns of a reference data set are not part of a case).
function caseValues(values, vocabulary) {
  const out = {};
  for (const feature of vocabulary.features) {
    const column = feature.column || feature.name;
    if (column in values && !RESERVED.includes(column)) out[column] = values[column];
  }
  return out;
}

function answerWords(label) {
  return label === null || label === undefined || label === NO_ANSWER ? "no answer" : `“${label}”`;
}

// "Keep this case as a test": the person names the case and chooses the answer the rules must give; saved with
// a why. ``suggested`` is offered first (a label, or "no answer"); ``said`` tells where it comes from ("The rules
// answer … now"). Resolves to the new tests answer (counts), or null when cancelled.
export async function keepAsTest({ ruleset, values, vocabulary, outcome, suggested, said = null }) {
  const nameId = uid("case");
  const expectId = uid("expect");
  const noteId = uid("note");
  const name = h("input", { id: nameId, type: "text", required: true, class: "wide" });
  if (values.case !== undefined && values.case !== null) name.value = String(values.case);
  const expect = h("select", { id: expectId },
    outcome.labels.map((label) => h("option", { value: label }, label)),
    h("option", { value: NO_ANSWER }, "no answer (the rules must not conclude)"));
  if (suggested && (outcome.labels.includes(suggested) || suggested === NO_ANSWER)) expect.value = suggested;
  const note = h("input", { id: noteId, type: "text", class: "wide" });
  const kept = caseValues(values, vocabulary);
  // Said with the features' names, as the author wrote the rule, not the data file's column names.
  const nameOf = new Map(vocabulary.features.map((f) => [f.column || f.name, f.name]));
  const shown = Object.entries(kept).map(([k, v]) => `${nameOf.get(k) || k}: ${v === null || v === undefined || v === "" ? "missing" : v}`).join("; ");
  let answer = null;
  await askWhy({
    title: "Keep this case as a test",
    intro: h("div", {},
      h("p", {}, "The case: ", shown || "(no values)"),
      h("div", { class: "field" }, h("label", { for: nameId }, "A name for the case"), name),
      h("div", { class: "field" }, h("label", { for: expectId }, `The answer the rules must give (${outcome.name})`), expect,
        said ? h("p", { class: "hint" }, said) : null),
      h("div", { class: "field" }, h("label", { for: noteId }, "Note for whoever reads a failure (optional)"), note)),
    confirm: "Keep as a test",
    first: name.value ? null : name, // the case's name is asked first, so the typing starts there
    run: async (why) => {
      if (!name.value.trim()) {
        name.focus();
        throw new ApiError(400, { error: { message: "Give the case a name, so a failure can say which case it is." } });
      }
      const current = await request("GET", paths.tests(ruleset));
      const csv = withCase(current.data.csv, { name: name.value.trim(), values: kept, expect: expect.value, note: note.value.trim() });
      answer = (await request("PUT", paths.tests(ruleset), { body: { csv, why }, version: current.version })).data;
    },
  });
  return answer;
}

// "The test passes" / "All 3 tests pass"; "1 of 3 tests fails" / "2 of 3 tests fail".
export function passWords(cases) {
  return cases === 1 ? "The test passes" : `All ${cases} tests pass`;
}

export function failWords(failed, cases) {
  return `${failed} of ${plural(cases, "test")} ${failed === 1 ? "fails" : "fail"}`;
}

// One failure in plain words, with a link to the Tests page.
export function failureItem(f) {
  return h("li", { class: "test-failure" },
    f.message || `Case '${f.case}': expected ${answerWords(f.expected)}, but the rules answered ${answerWords(f.answered)}.`);
}

// After a save: which tests now fail (never a reason not to save). Null when every test passes or there are none.
// ``fromSave``: the save's own answer about the tests ("tests": null without a tests file); asked for when absent
// (a save answered "already saved" or "being recorded" carries none).
export async function failingAfterSave(ruleset, fromSave) {
  let tests = fromSave;
  if (tests === undefined) {
    try {
      tests = (await request("GET", paths.tests(ruleset))).data;
    } catch {
      return null;
    }
  }
  if (tests === null) return null;
  if (!tests.valid) {
    return h("div", { class: "notice warning tests-after-save" }, "The tests file has mistakes, so the tests were not run. ",
      h("a", { href: pages.tests(ruleset) }, "See the tests"));
  }
  if (!tests.failed) {
    return tests.cases ? h("p", { class: "notice ok tests-after-save" }, `${passWords(tests.cases)}.`) : null;
  }
  return h("div", { class: "notice warning tests-after-save", role: "status" },
    h("p", {}, `${failWords(tests.failed, tests.cases)} now. The rule is saved all the same; `,
      h("a", { href: pages.tests(ruleset) }, "see the tests"), "."),
    h("ul", {}, tests.failures.slice(0, 5).map(failureItem)));
}
