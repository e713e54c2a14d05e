// A modal that asks for the reason of a change (or a comment) and runs the save; errors stay in the dialog,
// beside the field they concern, until the save succeeds or the person cancels.
import { ApiError } from "./api.js";
import { h, uid } from "./dom.js";

export function askWhy({ title, intro = null, label = "Why are you making this change?", hint = "Kept with the version, so reviewers and auditors know why.",
  confirm = "Save", initial = "", required = true, first = null, run }) {
  return new Promise((resolve) => {
    const fieldId = uid("why");
    const errorId = `${fieldId}-error`;
    const hintId = `${fieldId}-hint`;
    const area = h("textarea", { id: fieldId, rows: 3, required, "aria-describedby": `${hintId} ${errorId}` });
    area.value = initial;
    const fieldError = h("p", { class: "field-error", id: errorId, hidden: true });
    const formError = h("p", { class: "form-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "primary" }, confirm);
    const cancel = h("button", { type: "button" }, "Cancel");
    const titleId = `${fieldId}-title`;
    const form = h("form", { method: "dialog", novalidate: true },
      h("h2", { id: titleId }, title),
      intro ? h("div", { class: "dialog-intro" }, intro) : null,
      h("div", { class: "field" },
        h("label", { for: fieldId }, label),
        area,
        h("p", { class: "hint", id: hintId }, hint),
        fieldError),
      formError,
      h("div", { class: "actions" }, save, cancel));
    const dialog = h("dialog", { class: "why-dialog", "aria-labelledby": titleId }, form);
    document.body.append(dialog);
    let finished = false;
    const finish = (value) => {
      if (finished) return;
      finished = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const showError = (message, onField) => {
      fieldError.hidden = !onField;
      formError.hidden = onField;
      (onField ? fieldError : formError).textContent = message;
      area.setAttribute("aria-invalid", onField ? "true" : "false");
      if (onField) area.focus();
    };
    cancel.addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const why = area.value.trim();
      if (required && !why) {
        showError("Please say in a few words why; it is kept with the version.", true);
        return;
      }
      save.disabled = true;
      save.textContent = "Saving…";
      try {
        const result = await run(why);
        finish(result === undefined ? true : result);
      } catch (error) {
        save.disabled = false;
        save.textContent = confirm;
        if (error instanceof ApiError && ["why", "comment", "notes"].includes(error.field)) showError(error.message, true);
        else if (error instanceof ApiError && error.handled) finish(null);
        else showError(error.message || String(error), false);
      }
    });
    dialog.showModal();
    (first || area).focus(); // ``first``: a field of the intro that is to be filled before the why
  });
}
