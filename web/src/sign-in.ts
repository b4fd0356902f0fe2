import { ApiProblem, api, CONTROL_CENTER_URL, SIGN_IN_AGAIN } from "./api.js";
import { LANGUAGE_NAMES, LANGUAGES, type Language, language, switchLanguage, t } from "./i18n.js";
import { finishSignIn, SignInProblem, startSignIn } from "./oidc.js";
import "./styles.css";

/**
 * The sign-in screen, served at /control-center to anyone who is not a signed-in operator. It
 * says why (signed out, or signed in without the operator role) and how to sign in here, in the
 * control center's language (the one chosen there, else the browser's: web/src/i18n.ts).
 */
const say = (id: string, words: string) => {
  const element = document.getElementById(id);
  if (element) element.textContent = words;
};
document.documentElement.lang = language;
document.title = t("signIn.pageTitle");
say("heading", t("signIn.heading"));
say("why", t("signIn.lead"));
say("dev-title", t("signIn.linkTitle"));
say("link-step-1", t("signIn.linkStep1"));
say("link-step-2", t("signIn.linkStep2"));
say("link-step-3", t("signIn.linkStep3"));
say("customers", t("signIn.customers"));
say("oidc-title", t("signIn.oidcTitle"));
say("oidc-button", t("signIn.button"));
say("home", t("signIn.home"));
say("docs", t("signIn.docs"));
const languages = document.getElementById("language");
if (languages instanceof HTMLSelectElement) {
  languages.setAttribute("aria-label", t("language.label"));
  languages.append(...LANGUAGES.map((l) => new Option(LANGUAGE_NAMES[l], l, l === language, l === language)));
  languages.addEventListener("change", () => switchLanguage(languages.value as Language));
}

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
    const ended = problem.detail && /session has ended/i.test(problem.detail) ? problem.detail : null;
    why.textContent =
      problem.status === 403
        ? t("signIn.notOperator")
        : ended
          ? // The service's own words (English) say why it ended; in another language, said first in it.
            language === "en"
            ? ended
            : `${t("signIn.sessionEnded")} (${ended})`
          : t("signIn.signedOut");
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
    // By its code (canceled, refused, or the provider cannot be reached); the Sign in button stays, to try again.
    box.textContent =
      error.code === "unreachable"
        ? t("signIn.problem.unreachable", error.values)
        : error.code === "canceled"
          ? t("signIn.problem.canceled")
          : t("signIn.problem.refused", error.values);
    box.dataset.canceled = error.canceled ? "true" : "false";
    if (error.canceled) say("oidc-button", t("signIn.tryAgain"));
    return;
  }
  box.textContent = t("signIn.problem.failed", {
    reason: error instanceof Error ? error.message : String(error),
  });
};
api.signInConfig().then(async (config) => {
  if (config.mode !== "oidc") return;
  show("dev-sign-in", false);
  show("oidc-sign-in", true);
  say("oidc-lead", t("signIn.oidcLead", { issuer: new URL(config.issuer).host }));
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
