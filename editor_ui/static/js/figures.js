// How figures are written for people: shares as percentages that never round a small share to 0 % or a
// near-total one to 100 %, outcome labels in words, and the label colours every plot shares.

export const ABSTAIN = "(abstain)";

export function percent(share, decimals = 0) {
  if (share === null || share === undefined || Number.isNaN(share)) return "–";
  const value = share * 100;
  if (value === 0 || value === 100) return `${value}%`;
  if (value < 1 || value > 99) return `${value.toFixed(Math.max(1, decimals))}%`;
  return `${value.toFixed(decimals)}%`;
}

export function labelWords(label) {
  return label === ABSTAIN ? "no answer" : `“${label}”`;
}

export function labelPlain(label) {
  return label === ABSTAIN ? "no answer" : label;
}

// Colour classes: the rule set's outcome labels in their order, then anything else; "no answer" always grey.
export function labelColours(labels) {
  const classes = new Map();
  let next = 0;
  for (const label of labels) {
    if (label === ABSTAIN) classes.set(label, "seg-none");
    else if (!classes.has(label)) { classes.set(label, `seg-${next % 7}`); next += 1; }
  }
  return (label) => classes.get(label) || "seg-none";
}

export function groupColour(index) {
  return `grp-${index % 6}`;
}

export function count(n, one = "case", many = `${one}s`) {
  return `${Number(n).toLocaleString("en")} ${n === 1 ? one : many}`;
}

// Groups in a sensible order: bands lowest first when a number column was cut into bands, "(missing)" last.
export function orderGroups(names, split) {
  const bands = split && split.bands ? split.bands : null;
  const rank = (g) => (bands && bands.includes(g) ? bands.indexOf(g) : g === "(missing)" ? 1e6 : 1e5);
  return [...names].sort((a, b) => rank(a) - rank(b) || String(a).localeCompare(String(b)));
}

// A group's value in a sentence ("where size band is “small”", "where mean radius is below 11.7").
export function groupValue(group, split) {
  if (group === "(missing)") return "missing";
  return split && split.bands && split.bands.includes(group) ? group : `“${group}”`;
}
