import { ApiError, request } from "../api.js";
import { pageData } from "../dom.js";

const form = document.getElementById("sign-in-form");
const error = document.getElementById("sign-in-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = form.elements.name.value.trim();
  const password = form.elements.password.value;
  error.hidden = true;
  if (!name || !password) {
    error.textContent = "Give your name and your password.";
    error.hidden = false;
    (name ? form.elements.password : form.elements.name).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { data } = await request("POST", "/api/session", { body: { name, password } });
    window.location.assign(data.user.must_change_password ? "/password" : (pageData().next || "/"));
  } catch (e) {
    button.disabled = false;
    error.textContent = e instanceof ApiError ? e.message : "Signing in did not work; try again.";
    error.hidden = false;
    form.elements.password.select();
    form.elements.password.focus();
  }
});
document.getElementById("name").focus();
