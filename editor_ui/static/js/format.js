// The rule's text, written in the browser from the form, for the one case the server cannot write it: a form
// with blank fields (no feature chosen, no value yet). Blanks become "…", which the text check then marks, so
// switching to text mode never loses what was filled in. It follows rules_dsl/formatter.py; when the form is
// complete the editor always uses the server's canonical text instead.
const OP_WORDS = {
  is: "is", "is not": "is not", above: "is above", below: "is below", "at least": "is at least", "at most": "is at most",
  between: "is between", "one of": "is one of", "not one of": "is not one of", contains: "contains",
  "does not contain": "does not contain", "is missing": "is missing", "is known": "is known",
};
const BLANK = "…";

const quote = (text) => `"${String(text).replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"`;

function value(v) {
  if (v === null || v === undefined || v === "") return BLANK;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return String(v);
  if (typeof v === "object") return v.unit ? (/^[%°]/.test(v.unit) ? `${v.number}${v.unit}` : `${v.number} ${v.unit}`) : String(v.number);
  return quote(v);
}

function comparison(c) {
  const words = `${c.feature || BLANK} ${OP_WORDS[c.op] || c.op}`;
  const values = c.values || [];
  if (c.op === "between") return `${words} ${value(values[0])} and ${value(values[1])}`;
  if (c.op === "is missing" || c.op === "is known") return words;
  return `${words} ${values.length ? values.map(value).join(", ") : BLANK}`;
}

function condition(c, nested = false) {
  if ("feature" in c) return comparison(c);
  if ("not" in c) return `not (${condition(c.not)})`;
  if ("at_least" in c) return `at least ${c.at_least ?? BLANK} of (${c.of.map((i) => condition(i, true)).join(", ")})`;
  const key = "all" in c ? "all" : "any";
  const text = c[key].map((i) => condition(i, true)).join(key === "all" ? " and " : " or ");
  return nested ? `(${text})` : text;
}

function when(c) {
  if (("all" in c || "any" in c) && (c.all || c.any).length) {
    const key = "all" in c ? "all" : "any";
    const [first, ...rest] = c[key];
    return [`when ${condition(first, true)}`, ...rest.map((i) => `  ${key === "all" ? "and" : "or"} ${condition(i, true)}`)];
  }
  if ("at_least" in c) {
    const items = c.of.map((i) => `    ${condition(i, true)}`);
    return [`when at least ${c.at_least ?? BLANK} of (`, ...items.map((line, i) => (i < items.length - 1 ? `${line},` : line)), "  )"];
  }
  return [`when ${condition(c)}`];
}

export function formatRule(rule) {
  const lines = [`rule ${quote(rule.name || "")}`];
  if (rule.priority) lines.push(`priority ${rule.priority}`);
  if (rule.enabled === false) lines.push("disabled");
  lines.push(...when(rule.when));
  if (rule.then) {
    let then = `then ${rule.then.outcome} is ${rule.then.label ? quote(rule.then.label) : BLANK}`;
    if (rule.then.confidence !== null && rule.then.confidence !== undefined) then += ` with confidence ${rule.then.confidence}`;
    lines.push(then);
  }
  if (rule.because) lines.push(`because ${quote(rule.because)}`);
  return lines.join("\n");
}

// One condition (a comparison or a group) in words, as in the rule's text: for conflicts and what was combined.
export function formatCondition(c) {
  return condition(c);
}
