/** Tariffs (OCPI 2.2.1 shape) in the web app: GraphQL documents, the editor's form model, and
 * client-side checks that mirror the server's (backend/domain/billing/ocpi.py and tariffs.py).
 *
 * Prices, rates and limits stay decimal strings from the input box to the API: they are
 * normalised ("0,25" → "0.25") and checked with regular expressions, never parsed into floats. */
import { gql } from "@urql/core";
import type { Connection } from "../types";

// ---------- API shapes ----------
export const SCOPES = ["ORGANIZATION", "SITE", "SITE_AREA", "STATION"] as const;
export type TariffScope = (typeof SCOPES)[number];
export const DIMENSIONS = ["FLAT", "ENERGY", "TIME", "PARKING_TIME"] as const;
export type TariffDimension = (typeof DIMENSIONS)[number];
export const DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"] as const;
export type DayOfWeek = (typeof DAYS)[number];

export interface TariffRestrictions {
  startTime: string | null;
  endTime: string | null;
  startDate: string | null;
  endDate: string | null;
  minKwh: string | null;
  maxKwh: string | null;
  minCurrent: string | null;
  maxCurrent: string | null;
  minPower: string | null;
  maxPower: string | null;
  minDuration: number | null;
  maxDuration: number | null;
  dayOfWeek: DayOfWeek[];
}

export interface TariffPriceComponent {
  type: TariffDimension;
  price: string;
  stepSize: number;
  vatPercent: string | null;
}

export interface TariffElement {
  priceComponents: TariffPriceComponent[];
  restrictions: TariffRestrictions | null;
}

export interface Tariff {
  id: string;
  name: string;
  currency: string;
  vatPercent: string;
  scope: TariffScope;
  targetId: string | null;
  siteId: string | null;
  validFrom: string | null;
  validUntil: string | null;
  retiredAt: string | null;
  createdAt: string;
  elements: TariffElement[];
}

export interface PriceLine {
  dimension: TariffDimension;
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
  lines: PriceLine[];
}

/** What the TariffInput of the API takes. */
export interface TariffInput {
  name: string;
  currency: string;
  vatPercent: string;
  scope: TariffScope;
  targetId: string | null;
  validFrom: string | null;
  validUntil: string | null;
  elements: {
    priceComponents: { type: TariffDimension; price: string; stepSize: number; vatPercent?: string }[];
    restrictions?: Partial<TariffRestrictions>;
  }[];
}

export interface SessionProfileInput {
  startedAt: string;
  durationMinutes: number;
  energyWh: number;
  idleMinutesAfter: number;
  siteTimeZone: string | null;
}

/** Sites with their areas and stations: what a tariff can attach to. */
export interface TargetSite {
  id: string;
  name: string;
  timezone: string;
  siteAreas: { id: string; name: string; stations: { id: string; ocppIdentity: string }[] }[];
}

// ---------- documents ----------
const TARIFF_FIELDS = gql`
  fragment TariffFields on Tariff {
    id
    name
    currency
    vatPercent
    scope
    targetId
    siteId
    validFrom
    validUntil
    retiredAt
    createdAt
    elements {
      priceComponents { type price stepSize vatPercent }
      restrictions {
        startTime endTime startDate endDate minKwh maxKwh minCurrent maxCurrent
        minPower maxPower minDuration maxDuration dayOfWeek
      }
    }
  }
`;

export const TARIFFS = gql`
  query Tariffs($first: Int, $after: String, $filter: TariffFilter) {
    tariffs(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...TariffFields } }
    }
  }
  ${TARIFF_FIELDS}
`;
export type TariffsData = { tariffs: Connection<Tariff> };

export const TARIFF = gql`
  query Tariff($id: ID!) { tariff(id: $id) { ...TariffFields } }
  ${TARIFF_FIELDS}
`;

export const TARIFF_TARGETS = gql`
  query TariffTargets {
    sites(first: 100) {
      edges { node { id name timezone siteAreas { id name stations { id ocppIdentity } } } }
    }
  }
`;
export type TargetsData = { sites: { edges: { node: TargetSite }[] } };

export const CREATE_TARIFF = gql`
  mutation CreateTariff($input: TariffInput!) { createTariff(input: $input) { ...TariffFields } }
  ${TARIFF_FIELDS}
`;
export const UPDATE_TARIFF = gql`
  mutation UpdateTariff($id: ID!, $input: TariffInput!) { updateTariff(id: $id, input: $input) { ...TariffFields } }
  ${TARIFF_FIELDS}
`;
export const RETIRE_TARIFF = gql`
  mutation RetireTariff($id: ID!) { retireTariff(id: $id) { ...TariffFields } }
  ${TARIFF_FIELDS}
`;
export const PREVIEW_TARIFF = gql`
  mutation PreviewTariff($tariff: TariffInput!, $profile: SessionProfileInput!) {
    previewTariff(tariff: $tariff, profile: $profile) {
      currency
      totalExclVat
      totalVat
      totalInclVat
      lines { dimension quantity unit unitPrice stepSize amountExclVat vatPercent vat amountInclVat }
    }
  }
`;

// ---------- status ----------
export type TariffStatus = "ACTIVE" | "SCHEDULED" | "ENDED" | "RETIRED";

/** Where a tariff stands now: retired by hand, ended (validity over), scheduled, or active. */
export function tariffStatus(tariff: Pick<Tariff, "validFrom" | "validUntil" | "retiredAt">, now = Date.now()): TariffStatus {
  if (tariff.retiredAt) return "RETIRED";
  if (tariff.validUntil && Date.parse(tariff.validUntil) <= now) return "ENDED";
  if (tariff.validFrom && Date.parse(tariff.validFrom) > now) return "SCHEDULED";
  return "ACTIVE";
}

// ---------- decimals as text ----------
/** Trimmed, with a decimal comma turned into a point ("0,25" → "0.25"). */
export function normaliseDecimal(text: string | null | undefined): string {
  return (text ?? "").trim().replace(",", ".");
}

const DECIMAL_RE = /^\d+(\.\d+)?$/;

/** An i18n key saying what is wrong with a non-negative decimal typed by a user, or null.
 * Mirrors the server: at least 0, below 10^12, at most 12 decimals. */
export function decimalProblem(text: string, options: { max?: string } = {}): string | null {
  const value = normaliseDecimal(text);
  if (value.startsWith("-")) return "tariffs.validation.negative";
  if (!DECIMAL_RE.test(value)) return "tariffs.validation.decimal";
  const [whole, fraction = ""] = value.split(".");
  if (whole.replace(/^0+/, "").length > 12 || fraction.length > 12) return "tariffs.validation.range";
  if (options.max !== undefined && compareDecimals(value, options.max) > 0) return "tariffs.validation.tooLarge";
  return null;
}

/** Compare two non-negative decimal strings exactly (-1, 0, 1). */
export function compareDecimals(a: string, b: string): number {
  const [aw, af = ""] = normaliseDecimal(a).split(".");
  const [bw, bf = ""] = normaliseDecimal(b).split(".");
  const width = Math.max(af.length, bf.length);
  const x = BigInt((aw || "0") + af.padEnd(width, "0"));
  const y = BigInt((bw || "0") + bf.padEnd(width, "0"));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A decimal string times 10^digits as an integer ("7.4" kWh, 3 → 7400 Wh); null when it has
 * more decimals than that. */
export function scaleDecimal(text: string, digits: number): number | null {
  const [whole, fraction = ""] = normaliseDecimal(text).split(".");
  if (fraction.replace(/0+$/, "").length > digits) return null;
  return Number(BigInt((whole || "0") + fraction.padEnd(digits, "0").slice(0, digits)));
}

/** Display a decimal string in the user's locale without going through a float. */
export function formatDecimal(value: string, locale: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return value;
  const whole = new Intl.NumberFormat(locale).format(BigInt(m[2]));
  const separator = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
  return `${m[1]}${whole}${m[3] ? separator + m[3] : ""}`;
}

export function formatMoney(value: string, currency: string, locale: string): string {
  return `${formatDecimal(value, locale)} ${currency}`;
}

// ---------- the editor's form ----------
let nextKey = 1;
/** A stable key for keyed lists and unique element ids (elements can be reordered). */
export function newKey(): number {
  return nextKey++;
}

export interface ComponentForm {
  key: number;
  type: TariffDimension;
  price: string;
  stepSize: string;
  vatPercent: string;
}

export interface RestrictionsForm {
  startTime: string;
  endTime: string;
  startDate: string;
  endDate: string;
  minKwh: string;
  maxKwh: string;
  minCurrent: string;
  maxCurrent: string;
  minPower: string;
  maxPower: string;
  /** Minutes in the form, seconds in the API. */
  minDuration: string;
  maxDuration: string;
  days: DayOfWeek[];
}

export interface ElementForm {
  key: number;
  components: ComponentForm[];
  restrictions: RestrictionsForm;
}

export interface TariffForm {
  name: string;
  currency: string;
  vatPercent: string;
  scope: TariffScope;
  targetId: string;
  /** `datetime-local` values, in the browser's time zone. */
  validFrom: string;
  validUntil: string;
  elements: ElementForm[];
}

export function emptyComponent(type: TariffDimension = "ENERGY"): ComponentForm {
  return { key: newKey(), type, price: "", stepSize: "1", vatPercent: "" };
}

export function emptyRestrictions(): RestrictionsForm {
  return {
    startTime: "",
    endTime: "",
    startDate: "",
    endDate: "",
    minKwh: "",
    maxKwh: "",
    minCurrent: "",
    maxCurrent: "",
    minPower: "",
    maxPower: "",
    minDuration: "",
    maxDuration: "",
    days: [],
  };
}

export function emptyElement(): ElementForm {
  return { key: newKey(), components: [emptyComponent()], restrictions: emptyRestrictions() };
}

export function hasRestrictions(r: RestrictionsForm): boolean {
  return Object.entries(r).some(([k, v]) => (k === "days" ? (v as DayOfWeek[]).length > 0 : (v as string).trim() !== ""));
}

function secondsToMinutes(seconds: number | null): string {
  if (seconds === null) return "";
  return seconds % 60 === 0 ? String(seconds / 60) : (seconds / 60).toFixed(2).replace(/\.?0+$/, "");
}

/** An ISO instant as a `datetime-local` value in the browser's time zone. */
export function isoToLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (browser time zone) as an ISO instant with offset (UTC). */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function emptyForm(): TariffForm {
  return {
    name: "",
    currency: "EUR",
    vatPercent: "20",
    scope: "SITE",
    targetId: "",
    validFrom: "",
    validUntil: "",
    elements: [emptyElement()],
  };
}

export function tariffToForm(t: Tariff): TariffForm {
  return {
    name: t.name,
    currency: t.currency,
    vatPercent: t.vatPercent,
    scope: t.scope,
    targetId: t.targetId ?? "",
    validFrom: isoToLocalInput(t.validFrom),
    validUntil: isoToLocalInput(t.validUntil),
    elements: t.elements.map((e) => {
      const r = e.restrictions;
      return {
        key: newKey(),
        components: e.priceComponents.map((c) => ({
          key: newKey(),
          type: c.type,
          price: c.price,
          stepSize: String(c.stepSize),
          vatPercent: c.vatPercent ?? "",
        })),
        restrictions: r
          ? {
              startTime: r.startTime ?? "",
              endTime: r.endTime ?? "",
              startDate: r.startDate ?? "",
              endDate: r.endDate ?? "",
              minKwh: r.minKwh ?? "",
              maxKwh: r.maxKwh ?? "",
              minCurrent: r.minCurrent ?? "",
              maxCurrent: r.maxCurrent ?? "",
              minPower: r.minPower ?? "",
              maxPower: r.maxPower ?? "",
              minDuration: secondsToMinutes(r.minDuration),
              maxDuration: secondsToMinutes(r.maxDuration),
              days: [...r.dayOfWeek],
            }
          : emptyRestrictions(),
      };
    }),
  };
}

const LIMIT_PAIRS = [
  ["minKwh", "maxKwh"],
  ["minCurrent", "maxCurrent"],
  ["minPower", "maxPower"],
] as const;

function minutesToSeconds(text: string): number | null {
  const value = normaliseDecimal(text);
  if (!value) return null;
  if (!DECIMAL_RE.test(value)) return NaN;
  const seconds = scaleDecimal(value, 2);
  // Minutes with up to 2 decimals; the API wants whole seconds.
  return seconds === null ? NaN : Math.round((seconds * 60) / 100);
}

/** The API input of a form (assumes `validateTariff` found nothing). */
export function formToInput(form: TariffForm): TariffInput {
  return {
    name: form.name.split(/\s+/).filter(Boolean).join(" "),
    currency: form.currency.trim().toUpperCase(),
    vatPercent: normaliseDecimal(form.vatPercent),
    scope: form.scope,
    targetId: form.scope === "ORGANIZATION" ? null : form.targetId || null,
    validFrom: localInputToIso(form.validFrom),
    validUntil: localInputToIso(form.validUntil),
    elements: form.elements.map((element) => {
      const r = element.restrictions;
      const restrictions: Partial<TariffRestrictions> = {};
      if (r.startTime) restrictions.startTime = r.startTime.slice(0, 5);
      if (r.endTime) restrictions.endTime = r.endTime.slice(0, 5);
      if (r.startDate) restrictions.startDate = r.startDate;
      if (r.endDate) restrictions.endDate = r.endDate;
      for (const pair of LIMIT_PAIRS)
        for (const key of pair) if (normaliseDecimal(r[key])) restrictions[key] = normaliseDecimal(r[key]);
      const minDuration = minutesToSeconds(r.minDuration);
      const maxDuration = minutesToSeconds(r.maxDuration);
      if (minDuration !== null) restrictions.minDuration = minDuration;
      if (maxDuration !== null) restrictions.maxDuration = maxDuration;
      if (r.days.length) restrictions.dayOfWeek = DAYS.filter((d) => r.days.includes(d));
      return {
        priceComponents: element.components.map((c) => {
          const item: TariffInput["elements"][number]["priceComponents"][number] = {
            type: c.type,
            price: normaliseDecimal(c.price),
            stepSize: Number(c.stepSize.trim() || "1"),
          };
          if (normaliseDecimal(c.vatPercent)) item.vatPercent = normaliseDecimal(c.vatPercent);
          return item;
        }),
        ...(Object.keys(restrictions).length ? { restrictions } : {}),
      };
    }),
  };
}

type Translate = (id: string, options?: { values?: Record<string, string | number> }) => string;

/** Check a form as the server would. Errors are keyed by the API's field paths
 * ("elements[0].priceComponents[1].price"), the same keys as the server's errors. */
export function validateTariff(form: TariffForm, t: Translate, { checkTarget = true } = {}): Record<string, string> {
  const e: Record<string, string> = {};
  const name = form.name.split(/\s+/).filter(Boolean).join(" ");
  if (!name) e.name = t("validation.required");
  else if (name.length > 200) e.name = t("tariffs.validation.nameLength");
  if (!/^[A-Z]{3}$/.test(form.currency.trim().toUpperCase())) e.currency = t("tariffs.validation.currency");
  const vat = decimalProblem(form.vatPercent, { max: "100" });
  if (vat) e.vatPercent = t(vat, { values: { max: 100 } });
  if (checkTarget && form.scope !== "ORGANIZATION" && !form.targetId) e.targetId = t("tariffs.validation.target");
  const from = localInputToIso(form.validFrom);
  const until = localInputToIso(form.validUntil);
  if (form.validFrom && !from) e.validFrom = t("tariffs.validation.dateTime");
  if (form.validUntil && !until) e.validUntil = t("tariffs.validation.dateTime");
  if (from && until && Date.parse(until) <= Date.parse(from)) e.validUntil = t("tariffs.validation.untilAfterFrom");

  if (!form.elements.length) e.elements = t("tariffs.validation.noElements");
  if (form.elements.length > 50) e.elements = t("tariffs.validation.tooManyElements");
  form.elements.forEach((element, i) => {
    const at = `elements[${i}]`;
    if (!element.components.length) e[`${at}.priceComponents`] = t("tariffs.validation.noComponents");
    const types = element.components.map((c) => c.type);
    if (new Set(types).size !== types.length) e[`${at}.priceComponents`] = t("tariffs.validation.duplicateType");
    element.components.forEach((c, j) => {
      const cat = `${at}.priceComponents[${j}]`;
      const price = decimalProblem(c.price);
      if (price) e[`${cat}.price`] = t(price);
      const step = c.stepSize.trim() || "1";
      if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > 1_000_000_000)
        e[`${cat}.stepSize`] = t("tariffs.validation.step");
      if (normaliseDecimal(c.vatPercent)) {
        const problem = decimalProblem(c.vatPercent);
        if (problem) e[`${cat}.vatPercent`] = t(problem);
      }
    });
    const r = element.restrictions;
    const rat = `${at}.restrictions`;
    for (const key of ["startTime", "endTime"] as const)
      if (r[key] && !/^\d{2}:\d{2}(:00)?$/.test(r[key])) e[`${rat}.${key}`] = t("tariffs.validation.time");
    if (r.startTime && r.endTime && r.startTime.slice(0, 5) === r.endTime.slice(0, 5))
      e[`${rat}.startTime`] = t("tariffs.validation.sameTimes");
    for (const key of ["startDate", "endDate"] as const)
      if (r[key] && !/^\d{4}-\d{2}-\d{2}$/.test(r[key])) e[`${rat}.${key}`] = t("tariffs.validation.date");
    if (r.startDate && r.endDate && !e[`${rat}.startDate`] && !e[`${rat}.endDate`] && r.startDate >= r.endDate)
      e[`${rat}.startDate`] = t("tariffs.validation.rangeOrder");
    for (const [low, high] of LIMIT_PAIRS) {
      for (const key of [low, high]) {
        if (!normaliseDecimal(r[key])) continue;
        const problem = decimalProblem(r[key]);
        if (problem) e[`${rat}.${key}`] = t(problem);
      }
      if (normaliseDecimal(r[low]) && normaliseDecimal(r[high]) && !e[`${rat}.${low}`] && !e[`${rat}.${high}`]) {
        if (compareDecimals(r[low], r[high]) >= 0) e[`${rat}.${low}`] = t("tariffs.validation.rangeOrder");
      }
    }
    const durations = { minDuration: minutesToSeconds(r.minDuration), maxDuration: minutesToSeconds(r.maxDuration) };
    for (const key of ["minDuration", "maxDuration"] as const) {
      const seconds = durations[key];
      if (seconds !== null && (Number.isNaN(seconds) || seconds > 1_000_000_000))
        e[`${rat}.${key}`] = t("tariffs.validation.minutes");
    }
    const { minDuration, maxDuration } = durations;
    if (minDuration !== null && maxDuration !== null && !e[`${rat}.minDuration`] && !e[`${rat}.maxDuration`]) {
      if (minDuration >= maxDuration) e[`${rat}.minDuration`] = t("tariffs.validation.rangeOrder");
    }
  });
  return e;
}

/** Server errors keyed as the form's fields: "elements[0].priceComponents[1].price", without the
 * argument's name ("input." for create/update, "tariff." for a preview). */
export function fieldErrors(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) out[key.replace(/^(input|tariff)\./, "")] = value;
  return out;
}

// ---------- the preview's session ----------
export interface ProfileForm {
  date: string;
  time: string;
  /** Minutes from plugging in to the stop of the charge. */
  duration: string;
  energyKwh: string;
  /** The car draws this power until the energy is in; empty: evenly over the duration. */
  maxPowerKw: string;
  /** Minutes still plugged in after the stop. */
  idleAfter: string;
  timeZone: string;
}

export interface ProfilePlan {
  input: SessionProfileInput;
  chargingMinutes: number;
  idleMinutes: number;
}

const MAX_MINUTES = 7 * 24 * 60;

/** The preview's session as the API's SessionProfileInput: charging at constant power (the max
 * power, or the energy spread over the whole duration), then idle, plugged in. Errors are keyed
 * by the profile form's fields. */
export function planProfile(p: ProfileForm, t: Translate): { plan: ProfilePlan | null; errors: Record<string, string> } {
  const e: Record<string, string> = {};
  const minutes = (text: string, key: string): number => {
    const v = text.trim();
    if (!/^\d+$/.test(v) || Number(v) > MAX_MINUTES) {
      e[key] = t("tariffs.preview.minutesRange", { values: { max: MAX_MINUTES } });
      return 0;
    }
    return Number(v);
  };
  const duration = minutes(p.duration, "duration");
  const idleAfter = minutes(p.idleAfter || "0", "idleAfter");
  let energyWh = 0;
  const energyProblem = decimalProblem(p.energyKwh);
  if (energyProblem) e.energyKwh = t(energyProblem);
  else {
    const wh = scaleDecimal(p.energyKwh, 3);
    if (wh === null) e.energyKwh = t("tariffs.preview.energyDecimals");
    else if (wh > 10_000_000) e.energyKwh = t("tariffs.preview.energyRange");
    else energyWh = wh;
  }
  let chargingMinutes = duration;
  if (normaliseDecimal(p.maxPowerKw)) {
    const powerProblem = decimalProblem(p.maxPowerKw);
    const watts = powerProblem ? null : scaleDecimal(p.maxPowerKw, 3);
    if (powerProblem || watts === null || watts <= 0) e.maxPowerKw = t("tariffs.preview.powerPositive");
    else if (!e.energyKwh && !e.duration) {
      // Whole minutes at (just under) the max power: ceil(Wh × 60 / W).
      chargingMinutes = Math.ceil((energyWh * 60) / watts);
      if (chargingMinutes > duration)
        e.energyKwh = t("tariffs.preview.tooMuchEnergy", { values: { minutes: chargingMinutes } });
    }
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(p.date)) e.date = t("tariffs.validation.date");
  if (!/^\d{2}:\d{2}/.test(p.time)) e.time = t("tariffs.validation.time");
  let startedAt: string | null = null;
  if (!e.date && !e.time) {
    startedAt = zonedToIso(p.date, p.time.slice(0, 5), p.timeZone);
    if (!startedAt) e.timeZone = t("tariffs.preview.zoneUnknown");
  }
  const idleMinutes = duration - chargingMinutes + idleAfter;
  if (!e.idleAfter && idleMinutes > MAX_MINUTES)
    e.idleAfter = t("tariffs.preview.minutesRange", { values: { max: MAX_MINUTES } });
  if (Object.keys(e).length || !startedAt) return { plan: null, errors: e };
  return {
    plan: {
      input: { startedAt, durationMinutes: chargingMinutes, energyWh, idleMinutesAfter: idleMinutes, siteTimeZone: p.timeZone },
      chargingMinutes,
      idleMinutes,
    },
    errors: e,
  };
}

/** The UTC offset (ms) of an IANA zone at an instant. */
function zoneOffset(at: number, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - at;
}

/** A wall-clock date and time in an IANA zone as an ISO instant (UTC), or null for an unknown zone.
 * In a DST gap the later offset is used; in an overlap, the first occurrence. */
export function zonedToIso(date: string, time: string, zone: string): string | null {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  try {
    let at = wall - zoneOffset(wall, zone);
    at = wall - zoneOffset(at, zone);
    return Number.isNaN(at) ? null : new Date(at).toISOString();
  } catch {
    return null;
  }
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Common ISO 4217 currencies first; any three-letter code is accepted by the server. */
export const CURRENCIES = ["EUR", "CHF", "GBP", "USD", "DKK", "SEK", "NOK", "PLN", "CZK", "HUF", "RON", "BGN", "ISK", "JPY", "CAD", "AUD"];

/** One flash message carried over a navigation (e.g. "saved" after going back to the list). */
export const flash: { message: string | null } = { message: null };

/** A short text of when an element applies ("22:00–06:00 · Mon, Tue · ≥ 10 kWh"); "" for always. */
export function restrictionSummary(r: Partial<TariffRestrictions> | null | undefined, locale: string): string {
  if (!r) return "";
  const parts: string[] = [];
  if (r.startTime || r.endTime) parts.push(`${r.startTime ?? "00:00"}–${r.endTime ?? "24:00"}`);
  if (r.dayOfWeek?.length) {
    const short = new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" });
    parts.push(r.dayOfWeek.map((d) => short.format(new Date(Date.UTC(2024, 0, 1 + DAYS.indexOf(d))))).join(", "));
  }
  if (r.startDate || r.endDate) parts.push(`${r.startDate ?? "…"} → ${r.endDate ?? "…"}`);
  const range = (low: string | null | undefined, high: string | null | undefined, unit: string) => {
    if (low && high) parts.push(`${formatDecimal(low, locale)}–${formatDecimal(high, locale)} ${unit}`);
    else if (low) parts.push(`≥ ${formatDecimal(low, locale)} ${unit}`);
    else if (high) parts.push(`< ${formatDecimal(high, locale)} ${unit}`);
  };
  range(r.minKwh, r.maxKwh, "kWh");
  range(r.minCurrent, r.maxCurrent, "A");
  range(r.minPower, r.maxPower, "kW");
  const minutes = (s: number | null | undefined) => (s === null || s === undefined ? null : secondsToMinutes(s));
  range(minutes(r.minDuration), minutes(r.maxDuration), "min");
  return parts.join(" · ");
}
