// People (administrators): who may sign in, with which role; add a person with a one-time password, reset a
// password, disable or enable, forget failed sign-ins; see and withdraw anyone's keys for scripts (tokens), make
// one's own. Every change goes through the people API, which writes the audit row. Secrets (one-time passwords,
// keys) are shown once, in a box the administrator closes, and never kept by the page.
import { ApiError, get, request } from "../api.js";
import { h, loading, me, notice, replace, timeEl, uid, when } from "../dom.js";
import { startShell } from "../shell.js";

startShell();
const news = document.getElementById("people-news");
const list = document.getElementById("people");
const ROLE_WORDS = Object.fromEntries([...document.getElementById("person-role").options].map((o) => [o.value, o.text]));
const SCOPE_WORDS = Object.fromEntries([...document.getElementById("key-scope").options].map((o) => [o.value, o.text]));
const e = encodeURIComponent;
const api = {
  users: "/api/users",
  userTokens: (id) => `/api/users/${e(id)}/tokens`,
  change: (id, how) => `/api/users/${e(id)}/${how}`,
  tokens: "/api/tokens",
  token: (id) => `/api/tokens/${e(id)}`,
};

// A one-time password people can read out and type: no 0/O, 1/l/I; 16 letters and digits in four groups.
const READABLE = "abcdefghjkmnpqrstuvwxyz23456789";

function oneTimePassword() {
  const picks = window.crypto.getRandomValues(new Uint32Array(16));
  const chars = Array.from(picks, (n) => READABLE[n % READABLE.length]);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join("")).join("-");
}

// ---- messages --------------------------------------------------------------------------------------------------

function say(text, kind = "ok") {
  replace(news, notice(text, kind));
}

// A secret shown this once: what it is, the secret itself with a copy button, and a button to close the box.
function showSecret(title, explanation, secret, label) {
  const titleId = uid("secret");
  const copy = h("button", { type: "button" }, "Copy");
  const status = h("span", { role: "status", class: "hint" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Select it and copy it by hand (Ctrl+C).";
    }
  });
  const done = h("button", { type: "button", class: "primary" }, "I have noted it: hide it");
  const box = h("section", { class: "notice ok secret-box", "aria-labelledby": titleId, tabindex: "-1" },
    h("h2", { id: titleId }, title),
    explanation.map((line) => h("p", {}, line)),
    h("p", {}, `${label}: `, h("code", { class: "secret" }, secret)),
    h("p", { class: "actions" }, copy, done, status));
  done.addEventListener("click", () => {
    replace(news);
    document.getElementById("main").focus();
  });
  replace(news, box);
  box.focus();
}

// "Are you sure?" in the page's own dialog (never the browser's), saying what will happen.
function confirmChange({ title, text, confirm, danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid("confirm");
    const yes = h("button", { type: "submit", class: danger ? "danger" : "primary" }, confirm);
    const no = h("button", { type: "button" }, "Cancel");
    const dialog = h("dialog", { class: "why-dialog", "aria-labelledby": titleId },
      h("form", { method: "dialog" },
        h("h2", { id: titleId }, title),
        text.map((line) => h("p", {}, line)),
        h("div", { class: "actions" }, yes, no)));
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.addEventListener("submit", (event) => { event.preventDefault(); finish(true); });
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(false); });
    no.addEventListener("click", () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

// ---- fields of a form: the server's problem beside its field, or under the form ----------------------------------

function fieldProblem(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  slot.textContent = message || "";
  slot.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (message) input.focus();
}

function formProblem(slot, inputs, error, fields) {
  inputs.forEach((input) => fieldProblem(input, ""));
  slot.hidden = true;
  if (!error) return;
  const input = error instanceof ApiError && error.field ? fields[error.field] : null;
  if (input) fieldProblem(input, error.message);
  else {
    slot.textContent = error.message;
    slot.hidden = false;
  }
}

// ---- the people ------------------------------------------------------------------------------------------------

function stateWords(person) {
  if (!person.active) return "Disabled: cannot sign in";
  if (person.must_change_password) return "Active; has not yet chosen a password";
  return "Active";
}

async function showPeople() {
  replace(list, loading("Loading the people…"));
  let users;
  try {
    users = (await get(api.users)).users;
  } catch (error) {
    replace(list, notice(error.message, "error"));
    return;
  }
  const rows = [];
  for (const person of users) {
    const keysRow = h("tr", { class: "keys-row", hidden: true },
      h("td", { colspan: 5 }, h("div", { id: `keys-of-${person.id}` })));
    rows.push(h("tr", { dataset: { person: person.name } },
      h("th", { scope: "row" }, person.name, person.email ? h("div", { class: "hint" }, person.email) : null),
      h("td", { dataset: { label: "Role" } }, ROLE_WORDS[person.role] || person.role),
      h("td", { dataset: { label: "State" } },
        h("span", { class: person.active ? "badge approved" : "badge off" }, stateWords(person))),
      h("td", { dataset: { label: "Added by" } }, person.created_by || "the server's command line"),
      h("td", {}, h("div", { class: "actions" }, personActions(person, keysRow)))), keysRow);
  }
  replace(list, h("div", { class: "table-wrap" }, h("table", { class: "history-table people-table" },
    h("caption", { class: "visually-hidden" }, "People, their role and whether they can sign in"),
    h("thead", {}, h("tr", {}, ["Name", "Role", "State", "Added by", "What you can do"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows))));
}

function personActions(person, keysRow) {
  const self = person.name === me();
  const button = (text, run, danger = false) => {
    const b = h("button", { type: "button", class: danger ? "link-button danger-link" : "link-button",
      "aria-label": `${text}: ${person.name}` }, text);
    b.addEventListener("click", () => run(b));
    return b;
  };
  const keys = button("Keys for scripts", async (b) => {
    const open = keysRow.hidden;
    keysRow.hidden = !open;
    b.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) await showKeys(document.getElementById(`keys-of-${person.id}`), person);
  });
  keys.setAttribute("aria-expanded", "false");
  keys.setAttribute("aria-controls", `keys-of-${person.id}`);
  return [
    self ? null : button("Reset password", () => resetPassword(person)),
    self ? null : person.active ? button("Disable", () => disable(person), true) : button("Enable", () => enable(person)),
    button("Unlock", () => unlock(person)),
    keys,
  ];
}

async function change(person, how, body, done) {
  try {
    await request("POST", api.change(person.id, how), { body });
    await showPeople();
    done();
  } catch (error) {
    say(error.message, "error");
  }
}

async function resetPassword(person) {
  const ok = await confirmChange({
    title: `Reset the password of ${person.name}?`,
    text: [`${person.name} gets a new one-time password, shown to you once, and chooses their own at the next sign-in.`,
      "They are signed out everywhere and their keys for scripts stop working."],
    confirm: "Reset the password", danger: true });
  if (!ok) return;
  const password = oneTimePassword();
  await change(person, "password", { password }, () => showSecret(
    `New one-time password for ${person.name}`,
    [`Give it to ${person.name} in person or by phone, not by email. It is shown only now.`,
      "They choose their own password when they sign in with it."],
    password, "One-time password"));
}

async function disable(person) {
  const ok = await confirmChange({
    title: `Disable ${person.name}?`,
    text: [`${person.name} can no longer sign in. They are signed out at once and their keys for scripts stop working.`,
      "Their saves, reviews and history stay. You can enable them again later (their keys stay withdrawn)."],
    confirm: `Disable ${person.name}`, danger: true });
  if (ok) await change(person, "disable", undefined, () => say(`${person.name} is disabled and can no longer sign in.`));
}

async function enable(person) {
  await change(person, "enable", undefined, () => say(`${person.name} can sign in again.`));
}

async function unlock(person) {
  await change(person, "unlock", undefined,
    () => say(`The failed sign-ins of ${person.name} are forgotten: they can try again at once.`));
}

// ---- keys for scripts ------------------------------------------------------------------------------------------

function keyState(token) {
  if (token.revoked) return "withdrawn";
  return new Date(token.expires_at) < new Date() ? "expired" : "in use";
}

function keysTable(tokens, owner, refresh) {
  const mine = owner === me();
  if (!tokens.length) return h("p", { class: "hint" }, mine ? "You have no keys for scripts." : `${owner} has no keys for scripts.`);
  const caption = mine ? "Your keys for scripts" : `Keys for scripts of ${owner}`;
  // Focusable, so that a keyboard can scroll it where a narrow screen cuts it off.
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "history-table" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["What it is for", "It may", "Starts with", "Made", "Valid until", "State",
      h("span", { class: "visually-hidden" }, "Withdraw")].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, tokens.map((t) => h("tr", {},
      h("td", {}, t.name || "(no name)"), h("td", {}, SCOPE_WORDS[t.scope] || t.scope), h("td", {}, h("code", {}, `${t.prefix}…`)),
      h("td", {}, timeEl(t.created_at)), h("td", {}, timeEl(t.expires_at)), h("td", {}, keyState(t)),
      h("td", {}, t.revoked ? "" : withdrawButton(t, owner, refresh)))))));
}

function withdrawButton(token, owner, refresh) {
  const b = h("button", { type: "button", class: "link-button danger-link",
    "aria-label": `Withdraw the key ${token.name || token.prefix} of ${owner}` }, "Withdraw");
  b.addEventListener("click", async () => {
    const ok = await confirmChange({
      title: "Withdraw this key?",
      text: [`The key "${token.name || token.prefix}" of ${owner} stops working at once; programs using it will be refused.`,
        "This cannot be undone: make a new key if one is needed again."],
      confirm: "Withdraw the key", danger: true });
    if (!ok) return;
    try {
      await request("DELETE", api.token(token.id));
      say(`The key "${token.name || token.prefix}" of ${owner} is withdrawn.`);
      await refresh();
    } catch (error) {
      say(error.message, "error");
    }
  });
  return b;
}

async function showKeys(slot, person) {
  replace(slot, loading("Loading the keys…"));
  try {
    const tokens = (await get(api.userTokens(person.id))).tokens;
    const refresh = () => showKeys(slot, person);
    replace(slot, keysTable(tokens, person.name, refresh),
      person.name === me() ? null : personKeyForm(person, refresh));
  } catch (error) {
    replace(slot, notice(error.message, "error"));
  }
}

// A key for someone else's program (a model server, a nightly job): it acts as that person, so it can do what
// their role allows and no more; the audit log names the administrator who made it.
function personKeyForm(person, refresh) {
  if (!person.active) {
    return h("p", { class: "hint" }, `${person.name} is disabled: enable them before making a key for them.`);
  }
  const field = (label, control, hint) => {
    control.id = uid("person-key");
    const error = h("p", { class: "field-error", id: `${control.id}-error`, hidden: true });
    control.setAttribute("aria-describedby", `${control.id}-error`);
    return [h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint || null, error), control];
  };
  const scopes = [["read", "read rules, history and the audit log"], ["predict", "predict with released rule sets"],
    ["write", `do everything ${person.name} can do`], ["metrics", "read the server's metrics only"]];
  const [nameField, nameInput] = field("What it is for", h("input", { autocomplete: "off" }));
  const [scopeField, scopeInput] = field("It may", h("select", {},
    scopes.map(([value, words]) => h("option", { value, selected: value === "predict" }, words))));
  const [daysField, daysInput] = field("Valid for (days)", h("input", { type: "number", min: "1", max: "3650", value: "90" }));
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const inputs = { name: nameInput, scope: scopeInput, days: daysInput };
  const form = h("form", { class: "pickers people-form", novalidate: true, "aria-label": `Make a key for ${person.name}` },
    nameField, scopeField, daysField, h("button", { type: "submit" }, `Make a key for ${person.name}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formProblem(error, Object.values(inputs), null, inputs);
    const days = Number(daysInput.value);
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      fieldProblem(daysInput, "Give a whole number of days between 1 and 3650 (ten years).");
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const { data } = await request("POST", api.userTokens(person.id),
        { body: { name: nameInput.value.trim(), scope: scopeInput.value, days } });
      await refresh();
      showSecret(`A new key for ${person.name}`,
        [`It acts as ${person.name}: it may ${scopes.find(([v]) => v === data.scope)?.[1] || data.scope}, and works `
          + `until ${when(data.expires_at)}.`,
        "Copy it now into the program that needs it: it is shown only this once. The audit log records that you made it."],
        data.token, "Key");
    } catch (problem) {
      formProblem(error, Object.values(inputs), problem, inputs);
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", { class: "person-key" }, h("h4", {}, `Make a key for ${person.name}`), form, error);
}

const myKeys = h("div", { id: "my-keys" });
document.getElementById("add-key-error").after(myKeys);

async function showMyKeys() {
  replace(myKeys, loading("Loading your keys…"));
  try {
    const tokens = (await get(api.tokens)).tokens;
    replace(myKeys, keysTable(tokens, me(), showMyKeys));
  } catch (error) {
    replace(myKeys, notice(error.message, "error"));
  }
}

// ---- the two forms ---------------------------------------------------------------------------------------------

const personForm = document.getElementById("add-person");
const personFields = { name: "person-name", role: "person-role", email: "person-email", password: "person-name" };
const personInputs = Object.fromEntries(Object.entries(personFields).map(([k, id]) => [k, document.getElementById(id)]));
const personError = document.getElementById("add-person-error");
personForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const inputs = [...new Set(Object.values(personInputs))];
  formProblem(personError, inputs, null, personInputs);
  const name = personInputs.name.value.trim();
  if (!name) { fieldProblem(personInputs.name, "Type the person's full name, as they will type it to sign in."); return; }
  const password = oneTimePassword();
  const body = { name, role: personInputs.role.value, password, must_change_password: true };
  if (personInputs.email.value.trim()) body.email = personInputs.email.value.trim();
  const submit = personForm.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const { data } = await request("POST", api.users, { body });
    personForm.reset();
    await showPeople();
    showSecret(`${data.name} is added as ${ROLE_WORDS[data.role] || data.role}`,
      [`Give ${data.name} this one-time password in person or by phone, not by email. It is shown only now.`,
        `They sign in with the name "${data.name}" and choose their own password at once.`],
      password, "One-time password");
  } catch (error) {
    formProblem(personError, inputs, error, personInputs);
  } finally {
    submit.disabled = false;
  }
});

const keyForm = document.getElementById("add-key");
const keyInputs = { name: document.getElementById("key-name"), scope: document.getElementById("key-scope"),
  days: document.getElementById("key-days") };
const keyError = document.getElementById("add-key-error");
keyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const inputs = Object.values(keyInputs);
  formProblem(keyError, inputs, null, keyInputs);
  const days = Number(keyInputs.days.value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    fieldProblem(keyInputs.days, "Give a whole number of days between 1 and 3650 (ten years).");
    return;
  }
  const submit = keyForm.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const { data } = await request("POST", api.tokens,
      { body: { name: keyInputs.name.value.trim(), scope: keyInputs.scope.value, days } });
    keyForm.reset();
    await showMyKeys();
    showSecret("Your new key for scripts",
      [`It may ${SCOPE_WORDS[data.scope] || data.scope}, and works until ${when(data.expires_at)}.`,
        "Copy it now into the program that needs it: it is shown only this once. Anyone who has it acts as you."],
      data.token, "Key");
  } catch (error) {
    formProblem(keyError, inputs, error, keyInputs);
  } finally {
    submit.disabled = false;
  }
});

showPeople();
showMyKeys();
