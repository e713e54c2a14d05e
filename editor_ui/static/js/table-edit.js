// The decision table edited in place: every cell an input, checked live by the server (each message under its
// cell), rows added and removed, and every change saved as ONE version with one why (PUT /api/rulesets/{id}/table,
// If-Match). A rule whose condition does not fit the table (its "other conditions" cell is filled) stays read-only,
// with a link to its form. Used by pages/table.js.
import { ApiError, pages, paths, post, request } from "./api.js";
import { askWhy } from "./dialogs.js";
import { h, notice, plural, replace, uid } from "./dom.js";

const CHECK_DELAY = 350; // ms after the last keystroke: one check per pause, not one per key

export function editTable(root, ruleset, table, { onSaved, onCancel }) {
  const { columns, version } = table;
  const idAt = columns.indexOf("id");
  const nameAt = columns.indexOf("rule");
  const otherAt = columns.indexOf("other conditions");
  const inUseAt = columns.indexOf("in use");
  const shown = columns.map((c, i) => i).filter((i) => i !== idAt);
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  // Each row: its cells (in the order of columns), whether it can be edited here, and its inputs by column index.
  const rows = table.rows.map((cells) => ({ cells: [...cells], fixed: Boolean(text(cells[otherAt])), inputs: {} }));
  const status = h("div", { class: "table-status", "aria-live": "polite" });
  const body = h("tbody");
  let timer = null;
  let asked = 0; // the latest check sent: an older answer arriving late is ignored

  const send = () => ({ columns, rows: rows.map((r) => r.cells) });
  const label = (row, i) => `${columns[i]} of ${text(row.cells[nameAt]) || "the new rule"}`;

  function input(row, i) {
    const id = uid("cell");
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    let field;
    if (i === inUseAt) {
      field = h("select", { id, "aria-label": label(row, i), "aria-describedby": `${id}-error` },
        ["yes", "no"].map((v) => h("option", { value: v, selected: (text(row.cells[i]) || "yes") === v }, v)));
      field.addEventListener("change", () => { row.cells[i] = field.value; changed(); });
    } else {
      field = h("input", { type: "text", id, value: text(row.cells[i]), "aria-label": label(row, i),
        "aria-describedby": `${id}-error`, size: i === nameAt ? 22 : 12 });
      field.addEventListener("input", () => {
        row.cells[i] = field.value;
        if (i === nameAt) relabel(row);
        changed();
      });
    }
    row.inputs[i] = { field, error };
    return [field, error];
  }

  function relabel(row) { // a cell's label names its rule, so it follows the rule's name as it is typed
    for (const [i, { field }] of Object.entries(row.inputs)) field.setAttribute("aria-label", label(row, Number(i)));
    if (row.remove) row.remove.setAttribute("aria-label", `Remove the rule ${text(row.cells[nameAt]) || "(new)"}`);
  }

  function rowEl(row) {
    if (row.fixed) {
      return h("tr", { class: "fixed" }, shown.map((i) => (i === nameAt
        ? h("th", { scope: "row" }, h("a", { href: pages.rule(ruleset, row.cells[idAt]) }, text(row.cells[i])),
          h("p", { class: "hint" }, "Does not fit the table: change it in its form."))
        : h("td", { class: text(row.cells[i]) ? "" : "any" }, text(row.cells[i])))), h("td"));
    }
    const remove = h("button", { type: "button", class: "link-button" }, "Remove");
    row.remove = remove;
    remove.setAttribute("aria-label", `Remove the rule ${text(row.cells[nameAt]) || "(new)"}`);
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      changed();
    });
    row.rowError = h("p", { class: "field-error", hidden: true });
    row.el = h("tr", {}, shown.map((i) => (i === nameAt
      ? h("th", { scope: "row" }, input(row, i), row.rowError)
      : h("td", {}, input(row, i)))), h("td", {}, remove));
    return row.el;
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(check, CHECK_DELAY);
  }

  function clearProblems() {
    for (const row of rows) {
      for (const { field, error } of Object.values(row.inputs)) {
        field.removeAttribute("aria-invalid");
        error.hidden = true;
        error.textContent = "";
      }
      if (row.rowError) row.rowError.hidden = true;
    }
  }

  // Each problem under its cell; one that names no cell under the row's name; one that names no row in the status.
  function showProblems(problems) {
    clearProblems();
    const loose = [];
    for (const p of problems) {
      const row = p.row !== null && p.row >= 0 ? rows[p.row] : null;
      const at = row && p.column !== null ? row.inputs[columns.indexOf(p.column)] : null;
      const target = at ? at.error : row && row.rowError;
      if (!target) { loose.push(p.message); continue; }
      target.textContent = target.hidden ? p.message : `${target.textContent} ${p.message}`;
      target.hidden = false;
      if (at) at.field.setAttribute("aria-invalid", "true");
    }
    return loose;
  }

  async function check() {
    const mine = ++asked;
    let answer;
    try {
      answer = await post(paths.tableCheck(ruleset), send(), { version });
    } catch (e) {
      if (mine === asked) replace(status, notice(e.message, "error"));
      return;
    }
    if (mine !== asked) return;
    const loose = showProblems(answer.problems);
    if (answer.problems.length) {
      replace(status, h("div", { class: "notice error" },
        h("p", {}, `${plural(answer.problems.length, "problem")} to fix before saving; each is shown at its cell.`),
        loose.length ? h("ul", {}, loose.map((m) => h("li", {}, m))) : null));
    } else {
      const { added, changed: edited, deleted } = answer.summary;
      replace(status, notice(added + edited + deleted
        ? `Ready to save: ${added} added, ${edited} changed, ${deleted} removed.` : "No changes yet.", "ok"));
    }
  }

  function conflict() {
    const reload = h("button", { type: "button" }, "Load the current table (your edits are dropped)");
    reload.addEventListener("click", onCancel);
    replace(status, h("div", { class: "notice error", role: "alert" },
      h("p", {}, "Someone else saved a change to this rule set since you opened the table, so nothing was saved "
        + "(nothing is lost). Note your edits, load the current table and make them again."), reload));
  }

  async function save() {
    clearTimeout(timer);
    const done = await askWhy({
      title: "Save the table's changes", confirm: "Save",
      run: async (why) => {
        try {
          return await request("PUT", paths.table(ruleset), { body: { ...send(), why }, version });
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) { conflict(); e.handled = true; }
          if (e instanceof ApiError && e.code === "invalid-table") {
            const loose = showProblems(e.problems);
            replace(status, h("div", { class: "notice error", role: "alert" }, h("p", {}, e.message),
              loose.length ? h("ul", {}, loose.map((m) => h("li", {}, m))) : null));
            e.handled = true;
          }
          throw e;
        }
      },
    });
    if (done) onSaved(done.version);
  }

  const add = h("button", { type: "button" }, "Add a row");
  add.addEventListener("click", () => {
    const cells = columns.map((c) => (c === "priority" ? 0 : c === "in use" ? "yes" : ""));
    cells[idAt] = null;
    const row = { cells, fixed: false, inputs: {} };
    rows.push(row);
    body.append(rowEl(row));
    row.inputs[nameAt].field.focus();
    changed();
  });
  const saveButton = h("button", { type: "button", class: "primary" }, "Save changes…");
  saveButton.addEventListener("click", save);
  const cancel = h("button", { type: "button" }, "Stop editing");
  cancel.addEventListener("click", onCancel);
  for (const row of rows) body.append(rowEl(row));
  replace(root,
    h("p", { class: "hint" }, "Write each cell without the feature's name (above 17, between 2 and 5, one of "
      + "left, right); an empty cell means any value. Every change is checked as you type and saved together, "
      + "as one version."),
    h("div", { class: "table-wrap" }, h("table", { class: "decision-table editing" },
      h("caption", { class: "visually-hidden" }, "The rules, one per row, to edit; empty cells mean any value"),
      h("thead", {}, h("tr", {}, shown.map((i) => h("th", { scope: "col" }, columns[i])),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "remove")))),
      body)),
    status,
    h("div", { class: "actions" }, add, saveButton, cancel));
}
