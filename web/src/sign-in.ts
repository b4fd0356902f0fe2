import { api } from "./api.js";
import "./styles.css";

/**
 * The sign-in screen, served at /control-center to anyone who is not a signed-in operator. It
 * says why (signed out, or signed in without the operator role) and how to sign in here.
 */
const command = document.getElementById("command");
if (command) {
  command.textContent = `npm run token -- --role operator --sub ops-1 --sign-in-url ${location.origin}`;
}

const why = document.getElementById("why");
api.controlCenter().then(
  // Signed in as an operator after all (the cookie arrived meanwhile): show the page, once.
  () => {
    if (sessionStorage.getItem("sign-in-reloaded")) return;
    sessionStorage.setItem("sign-in-reloaded", "1");
    location.reload();
  },
  (problem: unknown) => {
    if (!why || !(problem instanceof Error)) return;
    const status = (problem as { status?: number }).status;
    why.textContent =
      status === 403
        ? "You are signed in, but not as an operator: the control center is for the operators who run the lots. Sign in with an operator account."
        : "You are not signed in. Sign in as an operator to see every lot, live.";
  },
);
