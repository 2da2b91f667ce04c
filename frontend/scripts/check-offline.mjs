// After `npm run build`: fail if the built pages would load anything from another origin
// (scripts, styles, fonts, workers, CSS imports). VEV-IQ runs offline.
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const rules = [
  [/\.html$/, /<(?:script|link|img|iframe)[^>]+(?:src|href)=["']?(?:https?:)?\/\//gi],
  [/\.css$/, /url\(\s*["']?(?:https?:)?\/\//gi],
  [/\.css$/, /@import\s+(?:url\()?["']?(?:https?:)?\/\//gi],
  [/\.js$/, /(?:importScripts|new Worker|new SharedWorker|import)\(\s*["'`]https?:\/\//g],
  [/\.js$/, /["'`]https?:\/\/(?:[a-z0-9-]+\.)*(?:jsdelivr\.net|unpkg\.com|esm\.sh|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com)/gi],
];
const files = [...readdirSync(dist).map((f) => join(dist, f)), ...readdirSync(join(dist, "assets")).map((f) => join(dist, "assets", f))];
let hits = 0;
for (const file of files) {
  for (const [match, re] of rules) {
    if (!match.test(file)) continue;
    for (const m of readFileSync(file, "utf8").matchAll(re)) {
      hits++;
      console.error(`${file}: ${m[0]}`);
    }
  }
}
console.log(`offline check: ${files.length} files, ${hits} external load(s)`);
process.exit(hits ? 1 : 0);
