import { ApiError, request } from "../api.js";
import { startShell } from "../shell.js";

startShell();
const form = document.getElementById("password-form");
const old = document.getElementById("old-password");  // absent right after a one-time password
const fresh = document.getElementById("new-password");
const again = document.getElementById("new-password-again");
const formError = document.getElementById("password-error");

function show(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  slot.textContent = message || "";
  slot.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  [old, fresh, again].filter(Boolean).forEach((input) => show(input, ""));
  formError.hidden = true;
  if (old && !old.value) { show(old, "Type the password you signed in with."); old.focus(); return; }
  if (fresh.value.length < 10) { show(fresh, "Choose a password of at least 10 characters."); fresh.focus(); return; }
  if (fresh.value !== again.value) { show(again, "The two new passwords are not the same."); again.focus(); return; }
  const name = document.body.dataset.me;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await request("POST", "/api/me/password", { body: { old_password: old ? old.value : null, password: fresh.value } });
    // Changing the password ends every session; sign in again with the new one.
    await request("POST", "/api/session", { body: { name, password: fresh.value } });
    window.location.assign("/");
  } catch (e) {
    button.disabled = false;
    if (e instanceof ApiError && e.field === "old_password" && old) { show(old, e.message); old.focus(); }
    else if (e instanceof ApiError && e.field === "password") { show(fresh, e.message); fresh.focus(); }
    else { formError.textContent = e.message; formError.hidden = false; }
  }
});
(old || fresh).focus();
