// Differences in words (to highlight what changed between two texts) and a careful line-by-line combination of
// two people's changes to the same starting text (used when someone saved the same rule first).
import { h } from "./dom.js";

const MAX_CELLS = 400000;

function tokens(text) {
  return (text || "").match(/\s+|[^\s]+/g) || [];
}

// Longest common subsequence as a list of [op, items] runs: "equal", "delete" (only in a), "insert" (only in b).
function runs(a, b) {
  if (a.length * b.length > MAX_CELLS) return [["delete", a], ["insert", b]];
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out = [];
  const push = (op, item) => {
    const last = out[out.length - 1];
    if (last && last[0] === op) last[1].push(item);
    else out.push([op, [item]]);
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { push("equal", a[i]); i += 1; j += 1; }
    else if (table[i + 1][j] >= table[i][j + 1]) { push("delete", a[i]); i += 1; }
    else { push("insert", b[j]); j += 1; }
  }
  while (i < n) { push("delete", a[i]); i += 1; }
  while (j < m) { push("insert", b[j]); j += 1; }
  return out;
}

// The same shape as the server's diff answer: {from: [[op, text]...], to: [[op, text]...]}.
export function wordDiff(before, after) {
  const from = [];
  const to = [];
  for (const [op, items] of runs(tokens(before), tokens(after))) {
    const text = items.join("");
    if (op !== "insert") from.push([op, text]);
    if (op !== "delete") to.push([op, text]);
  }
  return { from, to };
}

// A block of text with the changed words marked (<del> on the old side, <ins> on the new side).
export function wordsBlock(segments, label) {
  return h("pre", { class: "rule-text diff-side", "aria-label": label },
    segments.map(([op, text]) => (op === "equal" ? text
      : op === "delete" ? h("del", {}, h("span", { class: "visually-hidden" }, "[removed: "), text, h("span", { class: "visually-hidden" }, "]"))
        : h("ins", {}, h("span", { class: "visually-hidden" }, "[added: "), text, h("span", { class: "visually-hidden" }, "]")))));
}

function lines(text) {
  return (text || "").replace(/\n+$/, "").split("\n");
}

// Changed stretches of `base` as [start, end, replacement lines].
function hunks(base, other) {
  const out = [];
  let at = 0;
  let current = null;
  for (const [op, items] of runs(base, other)) {
    if (op === "equal") {
      if (current) { out.push(current); current = null; }
      at += items.length;
    } else {
      if (!current) current = [at, at, []];
      if (op === "delete") { at += items.length; current[1] = at; } else current[2].push(...items);
    }
  }
  if (current) out.push(current);
  return out;
}

// Both people's changes, when they touched different lines; null when they changed the same place.
export function combine(baseText, mineText, theirsText) {
  const base = lines(baseText);
  const mine = hunks(base, lines(mineText));
  const theirs = hunks(base, lines(theirsText));
  const all = [];
  for (const a of mine) {
    for (const b of theirs) {
      const same = a[0] === b[0] && a[1] === b[1] && a[2].join("\n") === b[2].join("\n");
      if (!same && a[0] <= b[1] && b[0] <= a[1]) return null;
    }
  }
  for (const hunk of [...mine, ...theirs]) {
    if (!all.some((o) => o[0] === hunk[0] && o[1] === hunk[1] && o[2].join("\n") === hunk[2].join("\n"))) all.push(hunk);
  }
  all.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const result = [];
  let at = 0;
  for (const [start, end, replacement] of all) {
    result.push(...base.slice(at, start), ...replacement);
    at = end;
  }
  result.push(...base.slice(at));
  return result.join("\n");
}
