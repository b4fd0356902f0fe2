import { IntlMessageFormat } from "intl-messageformat";
import { en, type MessageId } from "./messages/en.js";
import { ko } from "./messages/ko.js";

export type { MessageId };

/** The page's languages, each with its ICU MessageFormat catalogue (issue 69). */
export const CATALOGUES = { en, ko } as const satisfies Record<string, Record<MessageId, string>>;
export type Language = keyof typeof CATALOGUES;
export const LANGUAGES = Object.keys(CATALOGUES) as Language[];
/** What each language is called in itself (the switch's options). */
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", ko: "한국어" };

const STORED = "parking.language";

const isLanguage = (value: string | null | undefined): value is Language =>
  typeof value === "string" && Object.hasOwn(CATALOGUES, value);

/**
 * The language of the page: the one the person chose on the switch (kept), else the first of the
 * browser's languages the page speaks (`ko-KR`: ko), else English.
 */
export function chooseLanguage(stored: string | null, preferred: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

/** The browser's own locale tag of a language (`en-GB` for an English browser in Britain), for Intl. */
export function localeOf(language: Language, preferred: readonly string[]): string {
  return preferred.find((tag) => tag.toLowerCase().split("-")[0] === language) ?? language;
}

/** The browser's globals this module reads (none in Node, where the page's unit tests run). */
const browser = globalThis as {
  localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  navigator?: { languages?: readonly string[]; language?: string };
  location?: { reload(): void };
  document?: { documentElement: { lang: string } };
};
const storage = () => {
  try {
    return browser.localStorage ?? null;
  } catch {
    return null;
  }
};
const preferredLanguages = (): readonly string[] =>
  browser.navigator?.languages ?? (browser.navigator?.language ? [browser.navigator.language] : []);

export const language: Language = chooseLanguage(storage()?.getItem(STORED) ?? null, preferredLanguages());
/** The locale every number, amount and date of the page is written in (Intl). */
export const locale: string = localeOf(language, preferredLanguages());

/** Keep the person's choice and show the page in it. */
export function switchLanguage(next: Language): void {
  storage()?.setItem(STORED, next);
  browser.location?.reload();
}

const compiled = new Map<string, IntlMessageFormat>();

/** A catalogue's message in a language, its values put in (plural rules and numbers by the language). */
export function translate(
  lang: Language,
  id: MessageId,
  values?: Record<string, string | number | null | undefined>,
): string {
  const key = `${lang} ${id}`;
  let format = compiled.get(key);
  if (!format) {
    format = new IntlMessageFormat(CATALOGUES[lang][id], lang === language ? locale : lang);
    compiled.set(key, format);
  }
  const out = format.format(values as Record<string, string | number>);
  return Array.isArray(out) ? out.join("") : String(out);
}

/** A message of the page's language. */
export const t = (id: MessageId, values?: Record<string, string | number | null | undefined>): string =>
  translate(language, id, values);

/** A message whose id is made of a prefix and a code the API sends (a status, a reason): the code itself if the catalogue lacks it. */
export function tCode(prefix: string, code: string, values?: Record<string, string | number>): string {
  const id = `${prefix}.${code}`;
  return Object.hasOwn(CATALOGUES[language], id) ? t(id as MessageId, values) : code;
}

if (browser.document) browser.document.documentElement.lang = language;
