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
