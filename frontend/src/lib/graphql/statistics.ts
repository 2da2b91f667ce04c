/** Statistics and demand forecasts in the web app: GraphQL documents, API shapes, and the pure
 * helpers that turn rows into chart series and table cells (periods are UTC, like the API's). */
import { gql } from "@urql/core";

export const GROUPS = ["NONE", "SITE", "SITE_AREA", "STATION", "USER"] as const;
export type GroupBy = (typeof GROUPS)[number];
export const PERIODS = ["DAY", "MONTH", "YEAR", "TOTAL"] as const;
export type Period = (typeof PERIODS)[number];
export const METRICS = ["energyWh", "sessions", "connectedS", "chargingS", "inactivityS", "cost"] as const;
export type Metric = (typeof METRICS)[number];

export interface CurrencyAmount {
  currency: string;
  sessions: number;
  exclVatMinor: number;
  inclVatMinor: number;
}

export interface Figures {
  sessions: number;
  energyWh: number;
  connectedS: number;
  chargingS: number;
  inactivityS: number;
  costs: CurrencyAmount[];
}

export interface StatisticsRow extends Figures {
  periodStart: string | null;
  periodEnd: string | null;
  groupId: string | null;
  label: string | null;
}

export interface Statistics {
  groupBy: GroupBy;
  period: Period;
  rows: StatisticsRow[];
  total: Figures;
}

export interface DemandHour {
  at: string;
  sessions: number;
  energyWh: number;
}

export interface DemandForecast {
  siteId: string;
  timezone: string;
  generatedAt: string;
  historyFrom: string;
  weeksWithData: number;
  excludedDays: string[];
  hours: DemandHour[];
  recent: DemandHour[];
}

const FIGURES = `sessions energyWh connectedS chargingS inactivityS costs { currency sessions exclVatMinor inclVatMinor }`;

export const STATISTICS = gql`
  query Statistics($groupBy: StatisticsGroupBy!, $period: StatisticsPeriod!, $from: DateTime, $to: DateTime, $siteId: ID) {
    statistics(groupBy: $groupBy, period: $period, from: $from, to: $to, siteId: $siteId) {
      groupBy
      period
      rows { periodStart periodEnd groupId label ${FIGURES} }
      total { ${FIGURES} }
    }
  }
`;

export const DEMAND_FORECAST = gql`
  query DemandForecast($siteId: ID!, $days: Int!) {
    demandForecast(siteId: $siteId, days: $days) {
      siteId timezone generatedAt historyFrom weeksWithData excludedDays
      hours { at sessions energyWh }
      recent { at sessions energyWh }
    }
  }
`;

export const STATISTICS_SITES = gql`
  query StatisticsSites {
    sites(first: 100) { edges { node { id name } } }
  }
`;

/** A yyyy-mm-dd date as the UTC instant starting it (plus some days), or null. */
export function utcDay(date: string, plusDays = 0): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + plusDays)).toISOString();
}

/** The yyyy-mm-dd of a date `days` before today (UTC). */
export function daysAgo(days: number, now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days));
  return d.toISOString().slice(0, 10);
}

/** The currencies present in a result, sorted. */
export function currenciesOf(stats: Statistics | null): string[] {
  const found = new Set<string>();
  for (const c of stats?.total.costs ?? []) found.add(c.currency);
  return [...found].sort();
}

/** The value of a metric in a row (cost: incl. VAT in minor units of `currency`). */
export function metricValue(row: Figures, metric: Metric, currency: string | null): number {
  if (metric === "cost") return row.costs.find((c) => c.currency === currency)?.inclVatMinor ?? 0;
  return row[metric];
}

/** A period's name in the UI language (UTC, as the API buckets). */
export function formatPeriod(iso: string | null, period: Period, locale: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  const options: Intl.DateTimeFormatOptions =
    period === "DAY"
      ? { dateStyle: "medium", timeZone: "UTC" }
      : period === "MONTH"
        ? { month: "long", year: "numeric", timeZone: "UTC" }
        : { year: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(locale, options).format(date);
}

export interface Series {
  key: string;
  label: string | null;
  values: (number | null)[];
}

/** At most this many groups get a line of their own; the others are added up as one. */
export const MAX_SERIES = 6;

/** Every period from the first to the last (UTC), so that a period without sessions shows as
 * one rather than disappearing. */
export function allPeriods(present: string[], period: Period): string[] {
  if (!present.length || period === "TOTAL") return present;
  const sorted = [...present].sort();
  const last = new Date(sorted[sorted.length - 1]).getTime();
  const out: string[] = [];
  const d = new Date(sorted[0]);
  for (let guard = 0; d.getTime() <= last && guard < 10000; guard++) {
    out.push(d.toISOString());
    if (period === "DAY") d.setUTCDate(d.getUTCDate() + 1);
    else if (period === "MONTH") d.setUTCMonth(d.getUTCMonth() + 1);
    else d.setUTCFullYear(d.getUTCFullYear() + 1);
  }
  return out;
}

/** Chart data: the periods (x: their index) and one series per group, the biggest groups first
 * (beyond MAX_SERIES, the others added up as one). */
export function toSeries(stats: Statistics, metric: Metric, currency: string | null): { periods: string[]; series: Series[]; others: boolean } {
  const present = [...new Set(stats.rows.map((r) => r.periodStart).filter((p): p is string => !!p))];
  const periods = allPeriods(present.map((p) => new Date(p).toISOString()), stats.period);
  const index = new Map(periods.map((p, i) => [p, i]));
  const byGroup = new Map<string, Series>();
  const totals = new Map<string, number>();
  for (const row of stats.rows) {
    if (!row.periodStart) continue;
    const key = row.groupId ?? "";
    let s = byGroup.get(key);
    if (!s) {
      s = { key, label: row.label, values: periods.map(() => 0) };
      byGroup.set(key, s);
    }
    const value = metricValue(row, metric, currency);
    s.values[index.get(new Date(row.periodStart).toISOString())!] = value;
    totals.set(key, (totals.get(key) ?? 0) + value);
  }
  const ranked = [...byGroup.values()].sort((a, b) => (totals.get(b.key) ?? 0) - (totals.get(a.key) ?? 0));
  let series = ranked.slice(0, MAX_SERIES);
  const rest = ranked.slice(MAX_SERIES);
  if (rest.length) {
    series = [
      ...series,
      {
        key: "__others",
        label: null,
        values: periods.map((_, i) => rest.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)),
      },
    ];
  }
  return { periods, series, others: rest.length > 0 };
}
