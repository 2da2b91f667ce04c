/** The session page's cost, goal and plan: API types, money in the UI language, plan → power. */
import type { SessionCurveEvent } from "./charging";

export type Dimension = "FLAT" | "ENERGY" | "TIME" | "PARKING_TIME";

/** One priced component of a session's cost (amounts are decimal strings, never floats). */
export interface PriceLine {
  dimension: Dimension;
  quantity: string;
  unit: string;
  unitPrice: string;
  stepSize: number;
  amountExclVat: string;
  vatPercent: string;
  vat: string;
  amountInclVat: string;
}

export interface Price {
  currency: string;
  totalExclVat: string;
  totalVat: string;
  totalInclVat: string;
  pricedUntil: string | null;
  final: boolean;
  lines: PriceLine[];
}

export interface FrozenTariff {
  id: string;
  name: string;
  currency: string;
  vatPercent: string;
}

/** A point of the cost curve as the API gives it (`ChargingSession.costCurve`). */
export interface ApiCostPoint {
  at: string;
  totalExclVat: string;
  totalInclVat: string;
}

/** What the live stream says of the cost, in minor units (cents). */
export interface LiveCost {
  currency: string;
  totalExclVatMinor: number;
  totalVatMinor: number;
  totalInclVatMinor: number;
  final: boolean;
}

export type PricedCurveEvent = Omit<SessionCurveEvent, "kind" | "points"> & {
  kind: SessionCurveEvent["kind"] | "priced";
  cost: LiveCost | null;
  points: (SessionCurveEvent["points"][number] & { costExclVatMinor: number | null; costInclVatMinor: number | null })[];
};

export interface PlannedPeriod {
  at: string;
  currentA: number;
}

export interface SessionGoalData {
  departureAt: string | null;
  energyWantedWh: number | null;
  plannedSchedule: PlannedPeriod[];
}

/** Cost as plotted and shown: amounts in the currency's major unit (display only, never summed). */
export interface CostPoint {
  at: string;
  inclVat: number;
  exclVat: number;
}

export interface RunningCost {
  currency: string;
  inclVat: number;
  exclVat: number;
  vat: number;
  final: boolean;
}

const formatters = new Map<string, Intl.NumberFormat>();
function cached(key: string, make: () => Intl.NumberFormat): Intl.NumberFormat {
  let found = formatters.get(key);
  if (!found) {
    found = make();
    formatters.set(key, found);
  }
  return found;
}

/** Digits of the currency's minor unit (2 for EUR, 0 for JPY), as Intl knows them. */
export function minorDigits(currency: string): number {
  return cached(`digits:${currency}`, () => new Intl.NumberFormat("en", { style: "currency", currency })).resolvedOptions()
    .maximumFractionDigits ?? 2;
}

export function fromMinor(minor: number, currency: string): number {
  return minor / 10 ** minorDigits(currency);
}

/** "12,34 €" / "€12.34" in the UI language. `decimals`: more digits than the currency's (unit prices). */
export function formatMoney(amount: number | string, currency: string, locale: string, decimals?: number): string {
  const digits = minorDigits(currency);
  const max = Math.max(digits, decimals ?? digits);
  const format = cached(`${locale}:${currency}:${max}`, () =>
    new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: max }),
  );
  return format.format(typeof amount === "string" ? Number(amount) : amount);
}

/** The decimals a decimal string carries ("0.3125" → 4). */
export function decimalsOf(value: string): number {
  const dot = value.indexOf(".");
  return dot < 0 ? 0 : value.length - dot - 1;
}

/** A unit price, with as many digits as the tariff gives (at most 5). */
export function formatUnitPrice(price: string, currency: string, locale: string): string {
  return formatMoney(price, currency, locale, Math.min(5, decimalsOf(price.replace(/0+$/, ""))));
}

export function formatPercent(percent: string, locale: string): string {
  return cached(`${locale}:pct`, () => new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 2 })).format(Number(percent) / 100);
}

export function formatQuantity(quantity: string, locale: string, digits = 3): string {
  return cached(`${locale}:q${digits}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: digits })).format(Number(quantity));
}

export function runningOfPrice(price: Price): RunningCost {
  return {
    currency: price.currency,
    inclVat: Number(price.totalInclVat),
    exclVat: Number(price.totalExclVat),
    vat: Number(price.totalVat),
    final: price.final,
  };
}

export function runningOfLive(cost: LiveCost): RunningCost {
  return {
    currency: cost.currency,
    inclVat: fromMinor(cost.totalInclVatMinor, cost.currency),
    exclVat: fromMinor(cost.totalExclVatMinor, cost.currency),
    vat: fromMinor(cost.totalVatMinor, cost.currency),
    final: cost.final,
  };
}

export function costPointOfApi(point: ApiCostPoint): CostPoint {
  return { at: point.at, inclVat: Number(point.totalInclVat), exclVat: Number(point.totalExclVat) };
}

/** Nominal voltage the planner converts currents with (backend/smart_charging/model.py). */
export const NOMINAL_VOLTAGE_V = 230;
/** A phase drawing more than this is used (as the planner decides, load_management/problem.py). */
const PHASE_USED_A = 1;

/** The phases the car draws on, from its latest reading with currents; unknown: all three (the planner's assumption). */
export function phasesInUse(points: { currentL1: number | null; currentL2: number | null; currentL3: number | null }[]): number {
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i];
    const currents = [p.currentL1, p.currentL2, p.currentL3];
    if (currents.every((c) => c === null)) continue;
    const used = currents.filter((c) => c !== null && c > PHASE_USED_A).length;
    if (used) return used;
  }
  return 3;
}

/** The plan in watts: amps per phase × nominal voltage × phases in use. */
export function plannedPower(schedule: PlannedPeriod[], phases: number): { at: string; powerW: number }[] {
  return schedule.map((p) => ({ at: p.at, powerW: Math.round(p.currentA * NOMINAL_VOLTAGE_V * phases) }));
}
