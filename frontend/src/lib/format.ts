/** Unit conversions between the API (W, Wh) and the UI (kW, kWh), and display helpers. */

export const DASH = "—";

/** Parse a user-typed decimal ("7,4" or "7.4"); empty → null; NaN when invalid. */
export function parseDecimal(text: string | number | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const s = String(text).trim().replace(",", ".");
  if (!s) return null;
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
}

/** kW/kWh text → integer W/Wh (null when empty). */
export function kiloToUnit(text: string): number | null {
  const value = parseDecimal(text);
  if (value === null || Number.isNaN(value)) return value;
  return Math.round(value * 1000);
}

/** W/Wh → kW/kWh text for an input. */
export function unitToKilo(value: number | null | undefined): string {
  if (value === null || value === undefined) return "";
  return String(Math.round(value) / 1000);
}

export function formatKilo(value: number | null | undefined, unit: "kW" | "kWh", locale: string): string {
  if (value === null || value === undefined) return DASH;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value / 1000)} ${unit}`;
}

export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return DASH;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function text(value: string | null | undefined): string {
  return value === null || value === undefined || value === "" ? DASH : value;
}

export function fullName(user: { firstName: string | null; lastName: string | null } | null | undefined): string {
  if (!user) return DASH;
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ");
  return name || DASH;
}

/** Empty string → null, for optional text inputs. */
export function orNull(value: string | null | undefined): string | null {
  const v = (value ?? "").trim();
  return v ? v : null;
}

/**
 * uPlot's time axis and legend in the reader's language (uPlot's own labels are English,
 * 12-hour): clock times, with the date under the first tick of each day.
 */
export function timeAxis(locale: string): {
  values: (u: unknown, ticks: number[], axisIdx: number, space: number, incr: number) => string[];
  legend: (u: unknown, seconds: number | null) => string;
} {
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  const clockSeconds = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" });
  const full = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" });
  return {
    values: (_u, ticks, _axisIdx, _space, incr) => {
      let previous = "";
      return ticks.map((t) => {
        const date = new Date(t * 1000);
        const today = day.format(date);
        const first = today !== previous;
        previous = today;
        if (incr >= 86_400) return today;
        const time = (incr < 60 ? clockSeconds : clock).format(date);
        return first ? `${time}\n${today}` : time;
      });
    },
    legend: (_u, seconds) => (seconds === null || seconds === undefined ? DASH : full.format(new Date(seconds * 1000))),
  };
}
