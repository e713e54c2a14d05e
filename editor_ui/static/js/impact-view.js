// "What this change does to the outcomes": two versions answer the same reference cases; how many answers change,
// the old answer -> new answer table (shaded counts), which rule changes caused them, cases fixed and broken when
// the true outcome is known, the same by group, and the changed cases themselves. Used beside the text of a
// change: on the compare page and in a release review. Each changed rule's section of the diff gets one line too.
import { get, pages, paths } from "./api.js";
import { barChart, shade, single } from "./charts.js";
import { h, loading, notice, plural, replace, uid } from "./dom.js";
import { ABSTAIN, count, groupColour, groupValue, labelPlain, orderGroups, percent } from "./figures.js";
import { fillDatasetSelect, fillSplitSelect } from "./pickers.js";

const CASES_SHOWN = 20;

function ruleWasOff(text) {
  return /^disabled$/m.test(text || "");
}

function whatHappened(change) {
  if (change.kind === "added") return ruleWasOff(change.new_text) ? "added, not in use" : "added";
  if (change.kind === "removed") return "deleted";
  const before = ruleWasOff(change.old_text);
  const after = ruleWasOff(change.new_text);
  if (!before && after) return "taken out of use";
  if (before && !after) return "put back in use";
  return "changed";
}

function causeWords(cause, names) {
  if (cause === "(default)") return "the answer when no rule fires";
  if (cause === "(policy)") return "how the rules are combined";
  if (cause === "(vocabulary)") return "the vocabulary";
  if (cause === "(settings)") return "the outcome or settings";
  return names.get(cause) || cause;
}

function labelOrder(transitions) {
  const order = [];
  for (const key of ["old", "new"]) for (const t of transitions) if (!order.includes(t[key])) order.push(t[key]);
  return [...order.filter((l) => l !== ABSTAIN), ...(order.includes(ABSTAIN) ? [ABSTAIN] : [])];
}

function transitionTable(transitions, caption) {
  const labels = labelOrder(transitions);
  const cell = new Map(transitions.map((t) => [`${t.old}\u0000${t.new}`, t.rows]));
  const largest = Math.max(0, ...transitions.map((t) => t.rows));
  return h("div", { class: "table-wrap" }, h("table", { class: "transitions" },
    h("caption", {}, caption),
    h("thead", {},
      h("tr", {}, h("td", {}), h("th", { scope: "colgroup", colspan: labels.length }, "After the change")),
      h("tr", {}, h("th", { scope: "col" }, "Before the change"), labels.map((l) => h("th", { scope: "col" }, labelPlain(l))))),
    h("tbody", {}, labels.map((old) => h("tr", {}, h("th", { scope: "row" }, labelPlain(old)), labels.map((nw) => {
      const n = cell.get(`${old}\u0000${nw}`) || 0;
      const moved = old !== nw;
      return h("td", { class: `${moved ? "moved" : "same"} ${shade(n, largest)}`, dataset: { old, new: nw },
        "aria-label": `${n} ${n === 1 ? "case" : "cases"}: ${labelPlain(old)} before, ${labelPlain(nw)} after${moved ? " (changed)" : ""}` }, String(n));
    }))))));
}

function headline(data) {
  const s = data.summary;
  if (!data.changed) return `None of the ${data.rows.toLocaleString("en")} reference cases gets a different answer.`;
  return `${data.changed} of ${data.rows.toLocaleString("en")} reference cases (${percent(s.share_changed)}) get a different answer.`;
}

function correctness(data) {
  const s = data.summary;
  if (s.accuracy_old === undefined || s.accuracy_old === null) {
    return h("p", { class: "hint" }, "These cases have no true outcome recorded, so it is not known which answers became right or wrong.");
  }
  const still = data.changed - s.fixed - s.broken;
  if (!data.changed) return h("p", { class: "impact-correctness" }, `Right answers stay at ${percent(s.accuracy_old, 1)}.`);
  return [
    h("p", { class: "impact-correctness" },
      `Right answers go from ${percent(s.accuracy_old, 1)} to ${percent(s.accuracy_new, 1)}. `,
      h("strong", {}, `${plural(s.fixed, "case")} fixed`), " (wrong before, right after), ",
      h("strong", {}, `${plural(s.broken, "case")} broken`), " (right before, wrong after)",
      still ? `, ${plural(still, "case")} changed but wrong both before and after` : "", "."),
    h("div", { class: "impact-grid" },
      barChart({
        title: "Right answers before and after the change",
        rows: [
          { label: "Before", bars: [single(s.accuracy_old, "bar-baseline", percent(s.accuracy_old, 1),
            `Before the change the rules are right on ${percent(s.accuracy_old, 1)} of the cases.`)] },
          { label: "After", bars: [single(s.accuracy_new, "bar-main", percent(s.accuracy_new, 1),
            `After the change the rules are right on ${percent(s.accuracy_new, 1)} of the cases.`)] },
        ],
      }),
      barChart({
        title: "Fixed and broken: the changed answers against the true outcome",
        max: data.changed,
        rows: [
          { label: "Fixed: wrong before, right after", bars: [single(s.fixed, "bar-fixed", String(s.fixed),
            `${plural(s.fixed, "case")} fixed by the change.`)] },
          { label: "Broken: right before, wrong after", bars: [single(s.broken, "bar-broken", String(s.broken),
            `${plural(s.broken, "case")} broken by the change.`)] },
          { label: "Changed, wrong before and after", bars: [single(still, "bar-baseline", String(still),
            `${plural(still, "case")} change their answer but are wrong both before and after.`)] },
        ],
      })),
  ];
}

// Each changed answer is counted once: under the one change that caused it, or under "several changes together"
// (summary.caused_by adds up to the answers that changed). A rule is a cause only where its firing changed and its
// conclusion decided the case before or after.
function causes(data, names) {
  const causedBy = data.summary.caused_by || {};
  const settings = Object.entries(causedBy).filter(([c, n]) => c.startsWith("(") && c !== "(several)" && n);
  const several = causedBy["(several)"] || 0;
  if (!data.rule_changes.length && !settings.length) return h("p", {}, "No rule changed.");
  return h("div", { class: "table-wrap" }, h("table", { class: "rule-changes" },
    h("caption", {}, "Which changes caused it (each changed answer counted once)"),
    h("thead", {}, h("tr", {}, ["What changed", "How", "Fires differently on", "Answers it alone changed", "Answers it changed with other changes"]
      .map((c, i) => h("th", { scope: "col", class: i > 1 ? "number" : "" }, c)))),
    h("tbody", {},
      data.rule_changes.map((c) => h("tr", { dataset: { rule: c.id } },
        h("th", { scope: "row" }, c.kind === "removed" ? c.name : h("a", { href: pages.rule(data.ruleset, c.id, data.to) }, c.name)),
        h("td", {}, whatHappened(c)),
        h("td", { class: "number" }, count(c.firing_differs)),
        h("td", { class: "number" }, String(c.predictions_changed)),
        h("td", { class: "number" }, String(c.predictions_shared || 0)))),
      settings.map(([c, n]) => h("tr", {}, h("th", { scope: "row" }, causeWords(c, names)), h("td", {}, "changed"),
        h("td", { class: "number" }, "–"), h("td", { class: "number" }, String(n)), h("td", { class: "number" }, "–"))),
      several ? h("tr", { class: "several" }, h("th", { scope: "row" }, "Several changes together"),
        h("td", {}, `${plural(several, "answer")} changed for more than one reason`), h("td", { class: "number" }, "–"),
        h("td", { class: "number" }, String(several)), h("td", { class: "number" }, "–")) : null)));
}

function byGroup(data, level) {
  const column = data.split.column;
  const table = new Map(data.by_group.map((g) => [g.group, g]));
  const groups = orderGroups([...table.keys()], data.split);
  const known = data.summary.accuracy_old !== undefined && data.summary.accuracy_old !== null;
  const colours = new Map(groups.map((g, i) => [g, groupColour(i)]));
  return h("div", { class: "impact-groups" },
    h(`h${Math.min(6, level + 1)}`, {}, `By ${column}`),
    h("div", { class: "impact-grid" },
      barChart({
        title: "Share of the cases whose answer changes",
        rows: groups.map((g) => {
          const x = table.get(g);
          return { label: `${g} (${count(x.rows)})`, bars: [single(x.share_changed, colours.get(g), percent(x.share_changed),
            `Where ${column} is ${groupValue(g, data.split)}: ${x.changed} of ${count(x.rows)} change their answer (${percent(x.share_changed)}).`)] };
        }),
      }),
      known ? barChart({
        title: "Right answers before and after, by group",
        rows: groups.map((g) => {
          const x = table.get(g);
          return { label: `${g} (${count(x.rows)})`, bars: [
            single(x.accuracy_old, "bar-baseline", percent(x.accuracy_old, 1),
              `Where ${column} is ${groupValue(g, data.split)}: right on ${percent(x.accuracy_old, 1)} before the change.`, { name: "before" }),
            single(x.accuracy_new, "bar-main", percent(x.accuracy_new, 1), `Where ${column} is ${groupValue(g, data.split)}: right on `
              + `${percent(x.accuracy_new, 1)} after the change (${x.fixed} fixed, ${x.broken} broken).`, { name: "after" })] };
        }),
      }) : null),
    h("div", { class: "table-wrap" }, h("table", { class: "figures-table impact-group-table" },
      h("caption", {}, `What the change does, by ${column}`),
      h("thead", {}, h("tr", {}, [column, "Cases", "Answers changed", "Share"].concat(known ? ["Right before", "Right after", "Fixed", "Broken"] : [])
        .map((c, i) => h("th", { scope: "col", class: i ? "number" : "" }, c)))),
      h("tbody", {}, groups.map((g) => {
        const x = table.get(g);
        return h("tr", {}, h("th", { scope: "row" }, g), h("td", { class: "number" }, String(x.rows)), h("td", { class: "number" }, String(x.changed)),
          h("td", { class: "number" }, percent(x.share_changed)),
          known ? [h("td", { class: "number" }, percent(x.accuracy_old, 1)), h("td", { class: "number" }, percent(x.accuracy_new, 1)),
            h("td", { class: "number" }, String(x.fixed)), h("td", { class: "number" }, String(x.broken))] : null);
      })))));
}

function changedCases(data, names) {
  if (!data.changed) return null;
  const shown = data.changes.slice(0, CASES_SHOWN);
  const known = shown.some((c) => c.true_label !== undefined);
  const grouped = data.split !== null && data.split !== undefined;
  return h("details", { class: "impact-cases" },
    h("summary", {}, data.changed > shown.length ? `The cases whose answer changes (the first ${shown.length} of ${data.changed})` : "The cases whose answer changes"),
    h("div", { class: "table-wrap" }, h("table", { class: "cases" },
      h("caption", { class: "visually-hidden" }, "Cases whose answer changes"),
      h("thead", {}, h("tr", {}, ["Row", ...(known ? ["True outcome"] : []), "Before", "After", "Because of", ...(grouped ? [data.split.column] : [])]
        .map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, shown.map((c) => h("tr", {},
        h("td", { class: "number muted" }, typeof c.row === "number" ? String(c.row + 1) : String(c.row)),
        known ? h("td", {}, labelPlain(c.true_label)) : null,
        h("td", {}, labelPlain(c.old)), h("td", {}, labelPlain(c.new)),
        h("td", {}, c.causes.map((x) => causeWords(x, names)).join(", ") || "–"),
        grouped ? h("td", {}, c.group) : null))))));
}

// One line in each changed rule's part of the diff: what that rule change did on the reference cases.
function annotateDiff(diffRoot, data) {
  if (!diffRoot) return;
  for (const old of diffRoot.querySelectorAll(".rule-impact, .impact-line")) old.remove();
  for (const change of data.rule_changes) {
    const section = [...diffRoot.querySelectorAll("section.diff-rule")].find((s) => s.dataset.rule === change.id);
    if (!section) continue;
    if (!change.firing_differs) {
      section.append(h("p", { class: "rule-impact" }, "On the reference cases: ",
        h("strong", {}, "fires on the same cases as before"), ", so no answer changes because of it."));
      continue;
    }
    section.append(h("p", { class: "rule-impact" }, "On the reference cases: ",
      h("strong", {}, `fires differently on ${count(change.firing_differs)}`),
      change.predictions_changed ? `; ${plural(change.predictions_changed, "answer")} change with it` : "",
      change.predictions_shared ? `${change.predictions_changed ? "," : ";"} ${plural(change.predictions_shared, "answer")} together with other changes.`
        : change.predictions_changed ? "." : ", but no answer changes because of it."));
  }
  const summary = diffRoot.querySelector(".diff-summary");
  if (summary) {
    summary.after(h("p", { class: "impact-line" }, headline(data), " ",
      h("a", { href: `#${diffRoot.dataset.impactAnchor || ""}` }, "What this change does to the outcomes")));
  }
}

/**
 * The impact panel for the change from `from` to `to`. level: the heading level of its title (2 on a page, 4 inside
 * a release). diffRoot: where the diff of the same change is shown, to mark each changed rule's effect beside it.
 */
export function impactPanel({ ruleset, from, to, level = 2, diffRoot = null }) {
  const headingId = uid("impact");
  const datasetSelect = h("select", { id: uid("impact-dataset") });
  const splitSelect = h("select", { id: uid("impact-split") });
  const result = h("div", {}, loading("Trying both versions on the reference cases…"));
  const pickers = h("form", { class: "pickers", hidden: true },
    h("div", { class: "field" }, h("label", { for: datasetSelect.id }, "Reference cases"), datasetSelect),
    h("div", { class: "field" }, h("label", { for: splitSelect.id }, "Split by (optional)"), splitSelect),
    h("button", { type: "submit" }, "Show"));
  const panel = h("section", { class: "impact", "aria-labelledby": headingId },
    h(`h${level}`, { id: headingId, tabindex: "-1" }, "What this change does to the outcomes"),
    h("p", { class: "hint" }, "Both versions answer the same reference cases; here is where their answers differ."),
    pickers, result);
  if (diffRoot) diffRoot.dataset.impactAnchor = headingId;
  let datasets = [];
  let ticket = 0;

  const show = async () => {
    const mine = ++ticket;
    replace(result, loading("Trying both versions on the reference cases…"));
    let data;
    try {
      data = await get(paths.impact(ruleset, from, to, { dataset: datasetSelect.value, group: splitSelect.value }));
    } catch (e) {
      if (mine === ticket) replace(result, notice(e.message, e.status === 422 ? "warning" : "error"));
      return;
    }
    if (mine !== ticket) return;
    data.ruleset = ruleset;
    data.to = to;
    const names = new Map(data.rule_changes.map((c) => [c.id, c.name]));
    replace(result,
      h("p", { class: "impact-headline", role: "status" }, headline(data)),
      correctness(data),
      transitionTable(data.transitions, "Each reference case by its answer before (rows) and after (columns); changed answers are orange"),
      causes(data, names),
      data.by_group ? byGroup(data, level) : null,
      changedCases(data, names));
    annotateDiff(diffRoot, data);
  };

  (async () => {
    try {
      datasets = (await get(paths.datasets(ruleset))).datasets;
    } catch (e) {
      replace(result, notice(e.message, "error"));
      return;
    }
    if (!datasets.length) {
      replace(result, notice("This rule set has no reference cases yet, so what the change does to outcomes cannot be shown."),
        h("p", {}, h("a", { href: pages.referenceCases(ruleset) }, "Reference cases")));
      return;
    }
    fillDatasetSelect(datasetSelect, datasets, "");
    fillSplitSelect(splitSelect, datasets.find((d) => String(d.id) === datasetSelect.value), "");
    pickers.hidden = false;
    show();
  })();
  datasetSelect.addEventListener("change", () => {
    fillSplitSelect(splitSelect, datasets.find((d) => String(d.id) === datasetSelect.value), splitSelect.value);
    show();
  });
  splitSelect.addEventListener("change", show);
  pickers.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  return panel;
}
