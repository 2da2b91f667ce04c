// Checks that en/fr/de have the same keys and that every static key used in the sources exists.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "src");
const i18nDir = join(src, "lib", "i18n");
// A language's messages: "en.json" plus any feature files "en.<feature>.json", merged.
const load = (lang) =>
  readdirSync(i18nDir)
    .filter((name) => name === `${lang}.json` || (name.startsWith(`${lang}.`) && name.endsWith(".json")))
    .map((name) => JSON.parse(readFileSync(join(i18nDir, name), "utf8")));
const flatten = (obj, prefix = "") =>
  Object.entries(obj).flatMap(([k, v]) => (typeof v === "object" ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));

const dicts = Object.fromEntries(["en", "fr", "de"].map((l) => [l, new Map(load(l).flatMap((d) => flatten(d)))]));
let problems = 0;
for (const lang of ["fr", "de"]) {
  for (const key of dicts.en.keys()) if (!dicts[lang].has(key)) (problems++, console.error(`${lang}: missing ${key}`));
  for (const key of dicts[lang].keys()) if (!dicts.en.has(key)) (problems++, console.error(`${lang}: extra ${key}`));
}

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(svelte|ts)$/.test(name)) files.push(path);
  }
};
walk(src);
const used = new Set();
const re = /(?:\$_|\bt)\(\s*"([a-zA-Z]+\.[a-zA-Z.]+)"|(?:label|title|text): "([a-zA-Z]+\.[a-zA-Z]+)"|"((?:validation|profile|vehicles)\.[a-zA-Z]+)"/g;
for (const file of files) {
  for (const m of readFileSync(file, "utf8").matchAll(re)) used.add(m[1] ?? m[2] ?? m[3]);
}
for (const key of used) if (!dicts.en.has(key)) (problems++, console.error(`en: missing used key ${key}`));

console.log(`i18n: ${dicts.en.size} keys, ${used.size} static keys used, ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
