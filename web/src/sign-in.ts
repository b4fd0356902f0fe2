import { ApiProblem, api, CONTROL_CENTER_URL, SIGN_IN_AGAIN } from "./api.js";
import { finishSignIn, SignInProblem, startSignIn } from "./oidc.js";
import "./styles.css";

/**
 * The sign-in screen, served at /control-center to anyone who is not a signed-in operator. It
 * says why (signed out, or signed in without the operator role) and how to sign in here.
 */
const command = document.getElementById("command");
if (command) {
  command.textContent = `npm run -s token -- --role operator --sub ops-1 --sign-in-url ${location.origin}`;
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
    if (!why || !(problem instanceof ApiProblem)) return;
    why.textContent =
      problem.status === 403
        ? "You are signed in, but not as an operator: the control center is for the operators who run the lots. Sign in with an operator account."
        : problem.detail && /session has ended/i.test(problem.detail)
          ? problem.detail
          : "You are not signed in. Sign in as an operator to see every lot, live.";
  },
);

/** With an external identity provider: its sign-in button, and the way back from it. */
const show = (id: string, visible: boolean) => {
  const element = document.getElementById(id);
  if (element) element.hidden = !visible;
};
const oidcProblem = (error: unknown) => {
  const box = document.getElementById("oidc-problem");
  if (!box) return;
  box.hidden = false;
  if (error instanceof SignInProblem) {
    // Its own words (canceled, or the provider cannot be reached); the Sign in button stays, to try again.
    box.textContent = error.message;
    box.dataset.canceled = error.canceled ? "true" : "false";
    const button = document.getElementById("oidc-button");
    if (button && error.canceled) button.textContent = "Try signing in again";
    return;
  }
  box.textContent = `Signing in did not work: ${error instanceof Error ? error.message : String(error)}`;
};
api.signInConfig().then(async (config) => {
  if (config.mode !== "oidc") return;
  show("dev-sign-in", false);
  show("oidc-sign-in", true);
  const issuer = document.getElementById("issuer");
  if (issuer) issuer.textContent = new URL(config.issuer).host;
  document.getElementById("oidc-button")?.addEventListener("click", () => {
    startSignIn(config).catch(oidcProblem);
  });
  try {
    if (await finishSignIn(config)) location.assign(CONTROL_CENTER_URL);
    else if (new URLSearchParams(location.search).has(SIGN_IN_AGAIN)) {
      // "Sign in again" from a page whose session ended: one click, straight to the provider.
      history.replaceState(null, "", location.pathname);
      await startSignIn(config);
    }
  } catch (error) {
    oidcProblem(error);
  }
}, oidcProblem);
