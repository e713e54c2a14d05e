// The rules as a decision table (read-only cells, a link per row to the rule's form), the workbook to download,
// and a workbook to upload: what it changes, rule by rule, before it is saved with a why.
import { ApiError, get, paths, pages, post, request } from "../api.js";
import { askWhy } from "../dialogs.js";
import { can, h, loading, notice, pageData, plural, replace, uid } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";
import { editTable } from "../table-edit.js";

startShell();
const { ruleset } = pageData();
const tableRoot = document.getElementById("table");
const bookRoot = document.getElementById("workbook");
let current = null; // the table as last loaded: its version is what an upload is based on

async function showTable() {
  replace(tableRoot, loading("Loading the table…"));
  try {
    current = await get(paths.table(ruleset));
  } catch (e) {
    replace(tableRoot, notice(e.message, "error"));
    return;
  }
  const { columns, rows } = current;
  const nameAt = columns.indexOf("rule");
  const idAt = columns.indexOf("id");
  const shown = columns.map((c, i) => i).filter((i) => i !== idAt);
  const cell = (value) => (value === null || value === undefined ? "" : String(value));
  replace(tableRoot, h("div", { class: "table-wrap" }, h("table", { class: "decision-table" },
    h("caption", { class: "visually-hidden" }, "The rules, one per row; empty cells mean any value"),
    h("thead", {}, h("tr", {}, shown.map((i) => h("th", { scope: "col" }, columns[i])))),
    h("tbody", {}, rows.map((row) => h("tr", {}, shown.map((i) => (i === nameAt
      ? h("th", { scope: "row" }, h("a", { href: pages.rule(ruleset, row[idAt]) }, cell(row[i])))
      : h("td", { class: cell(row[i]) ? "" : "any" }, cell(row[i]))))))))));
  if (can("rules.write")) {
    const edit = h("button", { type: "button" }, "Edit the table here");
    edit.addEventListener("click", () => {
      replace(bookRoot);
      editTable(tableRoot, ruleset, current, {
        onCancel: showTable,
        onSaved: async (version) => {
          await showTable();
          tableRoot.prepend(notice(`Saved as version ${version.slice(0, 12)}; the table shows it.`, "ok"));
        },
      });
    });
    tableRoot.append(h("div", { class: "actions" }, edit));
  }
  showWorkbook();
}

function showWorkbook() {
  const download = h("a", { class: "button", href: paths.workbook(ruleset, current.version), download: "" },
    "Download the workbook (.xlsx)");
  if (!can("rules.write")) {
    replace(bookRoot, h("div", { class: "actions" }, download));
    return;
  }
  const fileId = uid("workbook");
  const input = h("input", { type: "file", id: fileId, accept: ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
  const result = h("div", { id: "workbook-preview", "aria-live": "polite" });
  input.addEventListener("change", () => input.files[0] && previewUpload(input.files[0], result));
  replace(bookRoot, h("div", { class: "actions" }, download),
    h("div", { class: "field" }, h("label", { for: fileId }, "Upload an edited workbook"), input,
      h("p", { class: "hint" }, "You will see what it changes, rule by rule, before anything is saved.")),
    result);
}

async function base64Of(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function problemList(error) {
  const problems = error.problems || [];
  if (!problems.length) return notice(error.message, "error");
  return h("div", { class: "notice error", role: "alert" },
    h("p", {}, `The workbook cannot be used: ${plural(problems.length, "problem")} to fix in the spreadsheet.`),
    h("ul", { class: "workbook-problems" }, problems.map((p) => h("li", {},
      p.file ? [h("strong", {}, p.file), ": "] : null, p.message))));
}

async function previewUpload(file, root) {
  replace(root, loading("Reading the workbook…"));
  const workbook = await base64Of(file);
  let preview;
  try {
    preview = await post(paths.workbookPreview(ruleset), { workbook }, { version: current.version });
  } catch (e) {
    replace(root, e instanceof ApiError ? problemList(e) : notice(String(e), "error"));
    return;
  }
  if (!preview.changes.length) {
    replace(root, notice("This workbook holds no change to the current version.", "info"));
    return;
  }
  const { added, changed, deleted } = preview.summary;
  const items = preview.changes.map((c) => h("li", { class: `change ${c.change}` },
    h("strong", c.rule ? { title: `rule id: ${c.rule}` } : {}, c.rule ? `${c.change} rule “${ruleName(c) || c.rule}”` : `${c.change} ${c.file}`),
    c.before ? h("pre", { class: "before", "aria-label": "before" }, c.before) : null,
    c.after ? h("pre", { class: "after", "aria-label": "after" }, c.after) : null));
  const save = h("button", { type: "button", class: "primary" }, "Save these changes…");
  save.addEventListener("click", async () => {
    const done = await askWhy({
      title: "Save the workbook's changes", confirm: "Save",
      run: (why) => request("PUT", paths.workbook(ruleset), { body: { workbook, why }, version: preview.base }),
    });
    if (done) {
      await showTable(); // the table, and a fresh upload field, at the new version
      const fresh = document.getElementById("workbook-preview");
      if (fresh) replace(fresh, notice(`Saved as version ${done.version.slice(0, 12)}; the table shows it.`, "ok"));
    }
  });
  replace(root, h("section", { class: "workbook-changes" },
    h("h2", {}, "What the workbook changes"),
    h("p", {}, `${added} added, ${changed} changed, ${deleted} deleted.`),
    h("ul", {}, items), h("div", { class: "actions" }, save)));
}

fillTitle(ruleset);
showTable();

// A rule in the preview by its name (the first line of its text, as the formatter writes it), not its file's id.
function ruleName(change) {
  const found = (change.after || change.before || "").match(/^rule "((?:[^"\\]|\\.)*)"/);
  return found ? found[1].replace(/\\(.)/g, "$1") : null;
}
