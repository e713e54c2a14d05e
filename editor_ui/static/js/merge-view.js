// "Someone saved first": the server's three-way merge of the structured rule (rules_dsl/merge.py) shown as what
// was combined from whom, and, for each part both authors changed in different ways, both values to pick from.
// resolved() gives the rule with the picks applied, the same way rules_dsl.merge.resolve does.
import { h, uid } from "./dom.js";
import { formatCondition } from "./format.js";

function words(path, value) {
  if (value === null || value === undefined) return path.startsWith("when") ? "(removed)" : "(none)";
  if (path.startsWith("when")) return formatCondition(value);
  if (path === "then") return `${value.outcome} is “${value.label}”${value.confidence != null ? ` with confidence ${value.confidence}` : ""}`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

function segments(path) {
  return path.split(".").flatMap((part) => {
    const [name, ...indexes] = part.split("[");
    return [name, ...indexes.map((i) => Number(i.replace("]", "")))];
  });
}

const REMOVED = Symbol("removed");

function tidy(c) {
  if (!c || typeof c !== "object") return c;
  if ("not" in c) return { not: tidy(c.not) };
  const key = "at_least" in c ? "of" : "all" in c ? "all" : "any" in c ? "any" : null;
  if (!key) return c;
  const items = c[key].filter((i) => i !== REMOVED).map(tidy).filter((i) => i !== REMOVED);
  if (!items.length) return REMOVED; // every condition of the group was picked away: the group goes too
  if (key !== "of" && items.length === 1) return items[0];
  return { ...c, [key]: items };
}

export function resolveMerge(merge, picks) {
  const rule = structuredClone(merge.rule);
  for (const conflict of merge.conflicts) {
    const value = picks[conflict.path] === "theirs" ? conflict.theirs : conflict.mine;
    const path = segments(conflict.path);
    let at = rule;
    for (const s of path.slice(0, -1)) at = at[s];
    const inGroup = conflict.path.startsWith("when") && conflict.path !== "when";
    at[path[path.length - 1]] = value === null && inGroup ? REMOVED : structuredClone(value);
  }
  const when = tidy(rule.when);
  rule.when = when === REMOVED ? { all: [] } : when; // (the check then asks for a condition)
  return rule;
}

// name: who saved first. Returns {element, resolved}.
export function mergeView(merge, name) {
  const picks = {};
  const by = { theirs: `From ${name}`, mine: "From you", both: "Made by both of you" };
  const groups = ["theirs", "mine", "both"].map((who) => [who, merge.combined.filter((c) => c.by === who)])
    .filter(([, items]) => items.length);
  const combined = groups.length ? h("div", { class: "merge-combined" },
    h("h3", {}, "What is combined"),
    h("ul", {}, groups.map(([who, items]) => h("li", {}, `${by[who]}: `, items.map((c) => c.what).join("; "), ".")))) : null;
  const choices = merge.conflicts.map((conflict) => {
    const group = uid("pick");
    picks[conflict.path] = "mine";
    const option = (who, label, value) => {
      const id = uid("pick");
      const input = h("input", { type: "radio", name: group, id, value: who });
      input.checked = who === "mine";
      input.addEventListener("change", () => { picks[conflict.path] = who; });
      return h("div", { class: "merge-option" }, input, " ",
        h("label", { for: id }, `${label}: `, h("code", {}, words(conflict.path, value))));
    };
    return h("fieldset", { class: "merge-conflict" },
      h("legend", {}, `You both changed ${conflict.what}`),
      h("p", { class: "hint" }, "When you started: ", h("code", {}, words(conflict.path, conflict.base))),
      option("theirs", `${name}'s`, conflict.theirs),
      option("mine", "Yours", conflict.mine));
  });
  const element = h("div", { class: "merge" }, combined,
    choices.length ? h("div", {}, h("h3", {}, "Pick one where you both changed the same thing"), choices) : null);
  return { element, resolved: () => resolveMerge(merge, picks) };
}
