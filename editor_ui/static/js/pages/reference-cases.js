// Reference cases of a rule set: the sets registered so far (with their first rows), and for authors and admins a
// form to add one from a CSV file: name it, choose the column with the true outcome and any columns to split by,
// see its first rows before sending it; problems are shown beside the field they concern.
import { get, pages, paths, upload } from "../api.js";
import { preview } from "../csv.js";
import { can, h, loading, notice, pageData, replace, timeEl, uid } from "../dom.js";
import { count } from "../figures.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const listRoot = document.getElementById("datasets");
const addRoot = document.getElementById("add-datasets");
let rs = null;

// ---- the list ---------------------------------------------------------------------------------------------------
function rowsTable(caption, columns, rows, outcome) {
  return h("div", { class: "table-wrap" }, h("table", { class: "preview" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c === outcome ? "outcome" : "" }, c === outcome ? `${c} (true outcome)` : c)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c, i) => {
      const value = Array.isArray(row) ? row[i] : row[c];
      return h("td", { class: c === outcome ? "outcome" : "" }, value === null || value === undefined || value === "" ? "–" : String(value));
    }))))));
}

function datasetCard(d, { open = false, first = false } = {}) {
  const rowsRoot = h("div", {}, loading("Loading the first rows…"));
  let loaded = false;
  const details = h("details", { open }, h("summary", {}, "First rows"), rowsRoot);
  const load = async () => {
    if (loaded || !details.open) return;
    loaded = true;
    try {
      const data = await get(paths.dataset(ruleset, d.id, 5));
      replace(rowsRoot, rowsTable(`The first ${Math.min(5, d.rows)} of ${count(d.rows)}`, data.columns, data.head, data.label_column));
    } catch (e) {
      replace(rowsRoot, notice(e.message, "error"));
    }
  };
  details.addEventListener("toggle", load);
  if (open) load();
  return h("section", { class: "dataset", "aria-label": d.name, dataset: { id: String(d.id) } },
    h("h3", {}, d.name, first ? h("span", { class: "badge" }, "used first") : null),
    h("dl", { class: "facts" },
      h("dt", {}, "Cases"), h("dd", {}, count(d.rows)),
      h("dt", {}, "Columns"), h("dd", {}, String(d.columns.length)),
      h("dt", {}, "True outcome"), h("dd", {}, d.label_column ? `column “${d.label_column}”` : "not recorded: the rules can be tried on these cases, not measured"),
      h("dt", {}, "Split by"), h("dd", {}, d.group_columns.length ? d.group_columns.join(", ") : "nothing named (any column can still be chosen)"),
      h("dt", {}, "Added"), h("dd", {}, timeEl(d.created_at))),
    d.label_column ? h("p", {}, h("a", { href: pages.analysis(ruleset, { dataset: String(d.id) }) }, "How good the rules are on these cases")) : null,
    details);
}

async function showList(openId = null) {
  replace(listRoot, loading("Loading the reference cases…"));
  let data;
  try {
    data = await get(paths.datasets(ruleset));
  } catch (e) {
    replace(listRoot, notice(e.message, "error"));
    return;
  }
  replace(listRoot, h("h2", {}, "Reference cases of this rule set"),
    data.datasets.length
      ? [h("p", { class: "hint" }, "The first set is the one a rule is tried on while it is written, and the one chosen first elsewhere."),
        data.datasets.map((d, i) => datasetCard(d, { open: d.id === openId, first: i === 0 }))]
      : notice("There are no reference cases yet."));
}

// ---- the data report of a set just added ---------------------------------------------------------------------------
// What in the cases does not fit the vocabulary (numbers outside the declared range, category values that are none
// of the allowed ones, missing values), in the server's plain words: a column in months where the vocabulary says
// years is seen here, not discovered later in the figures.
function dataReport(report) {
  if (!report) return null;
  const problems = report.warnings || [];
  return h("section", { class: "data-report", "aria-label": "Data check" },
    h("h3", {}, "Data check"),
    problems.length
      ? notice(`${problems.length === 1 ? "One finding needs" : `${problems.length} findings need`} a look before these cases are trusted:`, "warning")
      : notice("Every value fits the vocabulary.", "ok"),
    h("ul", {}, report.lines.map((line) => h("li", {}, line))));
}

// ---- adding a set -----------------------------------------------------------------------------------------------
function field(labelText, control, hintText) {
  const problem = h("p", { class: "field-error", id: uid("problem"), hidden: true });
  const hint = hintText ? h("p", { class: "hint", id: uid("hint") }, hintText) : null;
  control.setAttribute("aria-describedby", [hint && hint.id, problem.id].filter(Boolean).join(" "));
  const label = control.tagName === "FIELDSET" ? null : h("label", { for: control.id }, labelText);
  return { wrap: h("div", { class: "field" }, label, control, hint, problem), problem, control };
}

function say(target, text) {
  target.problem.textContent = text || "";
  target.problem.hidden = !text;
  if (text) target.control.setAttribute("aria-invalid", "true");
  else target.control.removeAttribute("aria-invalid");
}

function addForm() {
  const file = field("CSV file", h("input", { type: "file", id: uid("file"), accept: ".csv,text/csv" }),
    "A table saved as CSV (comma-separated, UTF-8): one case per line, the column names on the first line.");
  const name = field("Name of these cases", h("input", { type: "text", id: uid("name"), maxlength: 100, class: "wide" }),
    "For example “Clinic cases 2025”.");
  const outcome = field("Column with the true outcome", h("select", { id: uid("outcome") }),
    `The rules’ answers are compared with this column, so it must hold the outcome in the same words (${rs.outcome.labels.map((l) => `“${l}”`).join(", ")}).`);
  const groupsBox = h("fieldset", { class: "column-choices", id: uid("groups") }, h("legend", {}, "Columns to split by (optional)"));
  const groups = field("", groupsBox, "Groups worth comparing, such as sex or an age band. They are offered first when the figures are split.");
  const previewRoot = h("div", { class: "file-preview" });
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Add these reference cases");
  let columns = [];
  let rows = [];

  const outcomeValues = () => {
    const at = columns.indexOf(outcome.control.value);
    return at < 0 ? [] : [...new Set(rows.map((r) => r[at]).filter((v) => v !== undefined && v !== ""))];
  };
  const checkOutcome = () => {
    const values = outcomeValues();
    const foreign = values.filter((v) => !rs.outcome.labels.includes(v));
    say(outcome, outcome.control.value && values.length && foreign.length === values.length
      ? `The first rows of this column hold ${foreign.slice(0, 4).map((v) => `“${v}”`).join(", ")}, but the rules answer ${rs.outcome.labels.map((l) => `“${l}”`).join(" or ")}: `
        + "every case would count as a wrong answer. Choose the column with the outcome in these words." : "");
  };
  const fillColumns = () => {
    replace(outcome.control, h("option", { value: "" }, "None: the true outcome is not recorded"),
      columns.map((c) => h("option", { value: c }, c)));
    const guess = columns.find((c) => c.toLocaleLowerCase() === rs.outcome.name.toLocaleLowerCase());
    outcome.control.value = guess || "";
    replace(groupsBox, h("legend", {}, "Columns to split by (optional)"), columns.map((c) => {
      const id = uid("group");
      return h("span", { class: "choice" }, h("input", { type: "checkbox", id, value: c }), h("label", { for: id }, c));
    }));
    checkOutcome();
    markOutcome();
    // The columns are offered once there is a file to take them from.
    outcome.wrap.hidden = !columns.length;
    groups.wrap.hidden = !columns.length;
  };
  // The outcome itself is no group to split by.
  const markOutcome = () => {
    for (const box of groupsBox.querySelectorAll("input")) {
      box.disabled = box.value === outcome.control.value;
      if (box.disabled) box.checked = false;
    }
  };
  const showPreview = () => {
    const chosen = outcome.control.value;
    replace(previewRoot, columns.length ? [
      h("p", { class: "file-facts" }, `${columns.length} columns. The first rows of the file, as read here (Rulecraft checks the whole file when you add it):`),
      rowsTable("The first rows of the file", columns, rows, chosen)] : null);
  };

  file.control.addEventListener("change", async () => {
    say(file, "");
    replace(message);
    const chosen = file.control.files[0];
    columns = [];
    rows = [];
    if (chosen) {
      if (!name.control.value.trim()) name.control.value = chosen.name.replace(/\.csv$/i, "").replace(/[_-]+/g, " ").trim();
      try {
        ({ columns, rows } = await preview(chosen));
      } catch {
        say(file, "This file cannot be read here. Choose a CSV file.");
      }
    }
    fillColumns();
    showPreview();
  });
  outcome.control.addEventListener("change", () => { checkOutcome(); markOutcome(); showPreview(); });

  const form = h("form", { class: "section-card dataset-form", novalidate: true, "aria-labelledby": "add-heading" },
    h("h2", { id: "add-heading" }, "Add reference cases"),
    file.wrap, previewRoot, name.wrap, outcome.wrap, groups.wrap,
    h("div", { class: "actions" }, submit), message);
  fillColumns();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of [file, name, outcome, groups]) say(f, "");
    replace(message);
    const chosen = file.control.files[0];
    const picked = [...groupsBox.querySelectorAll("input:checked")].map((c) => c.value);
    let first = null;
    if (!chosen) { say(file, "Choose the CSV file with the cases."); first = first || file; }
    if (!name.control.value.trim()) { say(name, "Give these cases a short name."); first = first || name; }
    if (picked.some((c) => c.includes(","))) { say(groups, "A column whose name holds a comma cannot be named here; rename it in the file."); first = first || groups; }
    if (first) {
      (first.control.tagName === "FIELDSET" ? first.control.querySelector("input") : first.control).focus();
      return;
    }
    submit.disabled = true;
    replace(message, loading("Adding the cases…"));
    try {
      const added = await upload(paths.register(ruleset, { name: name.control.value.trim(), label: outcome.control.value, groups: picked }),
        chosen, "text/csv");
      replace(message, notice(`Added “${added.name}”: ${count(added.rows)}, ${added.columns.length} columns.`, "ok"),
        dataReport(added.data_report));
      form.reset();
      columns = [];
      rows = [];
      fillColumns();
      showPreview();
      showList(added.id);
    } catch (e) {
      const target = { name, file, label_column: outcome, group_columns: groups }[e.field];
      if (target) {
        say(target, e.message);
        replace(message, notice("Not added: see the message beside the field.", "error"));
        target.control.focus();
      } else {
        replace(message, notice(e.message, "error"));
      }
    } finally {
      submit.disabled = false;
    }
  });
  replace(addRoot, form);
}

async function start() {
  rs = await fillTitle(ruleset);
  showList();
  if (addRoot && can("datasets.write")) {
    if (rs) addForm();
    else replace(addRoot, notice("There is no such rule set.", "error"));
  }
}

start();
