// Blame: every line of a rule with who last changed it, when and why (a run of lines from the same version shows
// the details once).
import { get, pages, paths } from "../api.js";
import { h, loading, notice, pageData, replace, timeEl } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset, rule, version } = pageData();
const root = document.getElementById("blame");

async function show() {
  fillTitle(ruleset);
  replace(root, loading());
  let data;
  try {
    data = await get(paths.blame(ruleset, rule, version));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  const first = data.lines[0] ? data.lines[0].text.match(/^rule "(.*)"$/) : null;
  if (first) document.getElementById("blame-title").textContent = `Who wrote each line of “${first[1].replace(/\\"/g, "\"")}”`;
  let previous = null;
  const rows = data.lines.map((line) => {
    const fresh = line.version !== previous;
    previous = line.version;
    return h("tr", { class: fresh ? "new-run" : "" },
      h("td", { class: "line-number" }, String(line.line)),
      h("td", { class: "code-line" }, line.text),
      h("td", { class: "meta" }, fresh ? [h("strong", {}, line.author), " · ", timeEl(line.time)] : ""),
      h("td", { class: "meta" }, fresh ? [line.why ? `“${line.why}”` : "", " ",
        h("a", { href: pages.rule(ruleset, rule, line.version) }, "see that version")] : ""));
  });
  replace(root, h("div", { class: "table-wrap" }, h("table", { class: "blame-table" },
    h("caption", { class: "visually-hidden" }, "Lines of the rule and who last changed each"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Line"), h("th", { scope: "col" }, "Text"),
      h("th", { scope: "col" }, "Who and when"), h("th", { scope: "col" }, "Why"))),
    h("tbody", {}, rows))));
}

show();
