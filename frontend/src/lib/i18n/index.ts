import { addMessages, init, locale } from "svelte-i18n";
import { get } from "svelte/store";
import type { Language } from "../types";

const STORAGE_KEY = "vev-iq.language";
const SUPPORTED = ["en", "fr", "de"] as const;

// Messages live in one file per language ("en.json") and, for larger features, one per
// feature and language ("en.billing.json"): all of a language's files are merged.
const FILES = import.meta.glob<Parameters<typeof addMessages>[1]>("./*.json", { eager: true, import: "default" });
for (const [path, messages] of Object.entries(FILES)) {
  const code = path.slice(2).split(".")[0];
  if ((SUPPORTED as readonly string[]).includes(code)) addMessages(code, messages);
}

function initialLocale(): string {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored && (SUPPORTED as readonly string[]).includes(stored)) return stored;
  for (const lang of navigator.languages ?? []) {
    const short = lang.slice(0, 2).toLowerCase();
    if ((SUPPORTED as readonly string[]).includes(short)) return short;
  }
  return "en";
}

export function setupI18n() {
  init({ fallbackLocale: "en", initialLocale: initialLocale() });
  locale.subscribe((value) => {
    if (value) document.documentElement.lang = value;
  });
}

/** Switch the UI language (enum value EN/FR/DE) and remember it on this device. */
export function setLanguage(language: Language) {
  const code = language.toLowerCase();
  localStorage.setItem(STORAGE_KEY, code);
  locale.set(code);
}

export function currentLanguage(): Language {
  return ((get(locale) ?? "en").slice(0, 2).toUpperCase() as Language) || "EN";
}
