// What every page shares: the sign-out button, and a page heading that receives focus after navigation.
import { request } from "./api.js";

export function startShell() {
  const button = document.getElementById("sign-out");
  if (button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await request("DELETE", "/api/session");
      } catch {
        // Signed out already, or the session had ended: either way, go to the sign-in page.
      }
      window.location.assign("/sign-in");
    });
  }
}
