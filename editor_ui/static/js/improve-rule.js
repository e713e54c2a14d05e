// "Improve this rule" in the rule editor (issue 18, item 6): candidates one step away from the rule as written
// (drop one condition, move one threshold, add one condition), scored on the rule set's reference cases with
// their true outcome (POST /api/rulesets/{id}/improve), each with the cases it would gain and lose, in plain words.
// "Use this" puts the candidate in the form; nothing is saved until the person saves it with a why (prefilled
// with where it came from). Without a reference data set with outcomes, it says why it is not offered.
import { pages, paths, request } from "./api.js";
import { h, loading, notice, plural, replace } from "./dom.js";

const percent = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);

// The server's description ("drop 'x'", "'x' becomes 'y'", "add 'x'") as a sentence.
export function changeWords(change) {
  const quoted = (s) => s.replace(/'([^']*)'/g, "“$1”");
  if (change.kind === "drop") return `Drop the condition ${quoted(change.description.replace(/^drop /, ""))}`;
  if (change.kind === "add") return `Add the condition ${quoted(change.description.replace(/^add /, ""))}`;
  if (change.kind === "move") return `Move a threshold: ${quoted(change.description)}`;
  return quoted(change.description);
}

function casesWords(n, right, label) {
  if (!n) return null;
  const wrong = n - right;
  return `${plural(n, "case")} (${right} with “${label}”, ${wrong} without)`;
}

// "It would also fire on 12 cases (10 with “malignant”, 2 without) and stop firing on 3 cases (…)."
export function gainLossWords(change, label) {
  const gained = casesWords(change.gained, change.gained_right, label);
  const lost = casesWords(change.lost, change.lost_right, label);
  if (gained && lost) return `It would also fire on ${gained} and stop firing on ${lost}.`;
  if (gained) return `It would also fire on ${gained}, and lose none.`;
  if (lost) return `It would stop firing on ${lost}, and gain none.`;
  return "It fires on the same cases.";
}

// The rule as written, worked back from one change: the cases it fires on, and how many of them have its label.
export function asWritten(change) {
  const right = Math.round((change.precision || 0) * change.support);
  return { support: change.support - change.gained + change.lost, right: right - change.gained_right + change.lost_right };
}

export class ImproveRule {
  // dataset: the rule set's default reference data set ({name, label_column}) or null; draft(): the rule as
  // written ({rule} or {text}) and its structured form, or null while it has mistakes; onUse(change, why).
  constructor(root, { rulesetId, dataset, draft, onUse }) {
    this.root = root;
    this.rulesetId = rulesetId;
    this.dataset = dataset;
    this.draft = draft;
    this.onUse = onUse;
    this.list = h("div", { id: "improve-list", "aria-live": "polite" });
    if (!dataset || !dataset.label_column) {
      const link = h("a", { href: pages.referenceCases(rulesetId) }, "Reference cases");
      replace(root, h("p", { class: "muted", id: "improve-unavailable" }, dataset
        ? [`Not offered: the reference data set “${dataset.name}” has no column with the true outcome, so a change `
          + "cannot be scored. Register cases with their outcome on the ", link, " page."]
        : ["Not offered: this rule set has no reference data set with the true outcome to score changes on. "
          + "Register one on the ", link, " page."]));
      return;
    }
    const ask = h("button", { type: "button", id: "improve-ask" }, "Improve this rule");
    ask.addEventListener("click", () => this.run());
    replace(root,
      h("p", { class: "hint" }, `Changes one step away from the rule as written: drop one condition, move one threshold, `
        + `or add one condition. Each is scored on the reference cases “${dataset.name}”, with the cases it would `
        + "gain and lose. Nothing is saved: “Use this” puts it in the form, and you save it with your reason."),
      h("div", { class: "actions" }, ask), this.list);
  }

  async run() {
    const draft = await this.draft();
    if (!draft) {
      replace(this.list, notice("Fix the rule's mistakes first: only a rule without mistakes can be scored.", "warning"));
      return;
    }
    if (!draft.structured || !draft.structured.then) {
      replace(this.list, notice("This rule concludes nothing (it is a feature only), so there is no answer to be "
        + "right or wrong about: give it a conclusion (“then …”) to see changes that would improve it.", "info"));
      return;
    }
    replace(this.list, loading("Scoring changes on the reference cases…"));
    let answer;
    try {
      ({ data: answer } = await request("POST", paths.improve(this.rulesetId), { body: draft.body }));
    } catch (e) {
      e.handled = true;
      replace(this.list, notice(`No changes could be worked out: ${e.message}`, "error"));
      return;
    }
    this.show(answer, draft.structured.then.label);
  }

  show(answer, label) {
    const name = answer.dataset.name;
    if (!answer.changes.length) {
      replace(this.list, notice(`No change of one condition does better on “${name}”.`, "info"));
      return;
    }
    const now = asWritten(answer.changes[0]);
    replace(this.list, h("p", { class: "improve-now" }, `As written, the rule fires on ${plural(now.support, "case")} of `
      + `“${name}”` + (now.support ? `, right (“${label}”) in ${percent(now.right / now.support)} of them.` : ".")),
    h("p", {}, `${plural(answer.changes.length, "change")}, the most promising first, scored on `
      + `the ${answer.dataset.rows} cases of “${name}”:`),
    h("ol", { class: "improve-changes" }, answer.changes.map((change, i) => {
      const words = changeWords(change);
      const use = h("button", { type: "button", class: "small", "aria-label": `Use this: ${words}` }, "Use this");
      use.addEventListener("click", async () => {
        await this.onUse(change, `Improved with “Improve this rule” on the reference cases “${name}”: `
          + `${words.charAt(0).toLowerCase()}${words.slice(1)} (then right in ${percent(change.precision)} of the `
          + `${change.support} cases it fires on).`);
        // The list was about the rule before the change: ask again for changes to the rule as it is now.
        replace(this.list, notice(`In the form now: ${words}. Ask again for changes one step from this rule.`, "info"));
      });
      return h("li", { class: `improve-change improve-${change.kind}`, "data-index": i },
        h("p", {}, h("strong", {}, words), "."),
        h("p", {}, `The rule would fire on ${plural(change.support, "case")}, right (“${label}”) in `
          + `${percent(change.precision)} of them. ${gainLossWords(change, label)}`),
        h("pre", { class: "rule-text small" }, change.text),
        h("div", { class: "actions" }, use));
    })));
  }
}
