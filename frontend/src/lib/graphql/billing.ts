/** Billing in the web app: invoices, refunds and the viewer's payment method (GraphQL documents,
 * API shapes) and money in integer minor units (cents), parsed and printed without floats.
 *
 * Who may ask for what (backend/graphql/policy.py): the buyer (`buyer`, `user`, `hostedUrl`) is
 * for the buyer themself and administrators (demo users: pseudonymized); site administrators see
 * their sites' invoices without it, so the documents ask for it only when `$withBuyer`. */
import { gql } from "@urql/core";
import type { CombinedError } from "@urql/core";
import { describeError, type Translate } from "./errors";
import { formatMoney, minorDigits } from "../sessionCost";
import type { Connection } from "../types";

// ---------- API shapes ----------
export const PAYMENT_STATES = ["LOCAL", "OPEN", "PAID", "FAILED", "VOID"] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];
export type BillingState = "UNBILLED" | "NOT_BILLABLE" | "PENDING" | "INVOICED";
export type RefundKind = "REFUND" | "CREDIT_NOTE";
export type RefundState = "PENDING" | "DONE" | "FAILED";

export interface Refund {
  id: string;
  amountMinor: number;
  reason: string;
  kind: RefundKind;
  state: RefundState;
  createdAt: string;
  doneAt: string | null;
  lastError: string | null;
  sessionId: string | null;
  invoiceId: string;
}

export interface InvoiceLine {
  id: string;
  position: number;
  dimension: string;
  description: string;
  quantity: string;
  unit: string;
  unitPrice: string;
  amountExclVatMinor: number;
  vatPercent: string;
  vatMinor: number;
  amountInclVatMinor: number;
  sessionId: string | null;
}

export interface InvoiceBuyer {
  name: string | null;
  email: string | null;
  address?: string[] | null;
}

export interface InvoiceSummary {
  id: string;
  number: string;
  kind: "SESSION" | "MONTHLY";
  issuedAt: string;
  periodStart: string | null;
  currency: string;
  subtotalExclVatMinor: number;
  vatMinor: number;
  totalInclVatMinor: number;
  refundedMinor: number;
  paymentState: PaymentState;
  paidAt: string | null;
  pdfUrl: string;
  buyer?: InvoiceBuyer;
  syncState?: "PENDING" | "SYNCED" | "FAILED";
  lastError?: string | null;
}

export interface Invoice extends InvoiceSummary {
  periodEnd: string | null;
  emailedAt: string | null;
  hostedUrl?: string | null;
  lines: InvoiceLine[];
  refunds: Refund[];
}

/** An invoiced session as the invoice page shows it (where and when it took place). */
export interface InvoicedSession {
  id: string;
  startedAt: string;
  energyWh: number;
  station: { id: string; ocppIdentity: string; siteArea: { id: string; site: { id: string; name: string } } | null } | null;
}

export interface SessionBillingData {
  id: string;
  billingState: BillingState;
  billingNote: string | null;
  refundedMinor: number;
  invoice: {
    id: string;
    number: string;
    currency: string;
    issuedAt: string;
    totalInclVatMinor: number;
    refundedMinor: number;
    paymentState: PaymentState;
    lines: { sessionId: string | null; amountInclVatMinor: number }[];
  } | null;
  refunds: Refund[];
}

export interface PaymentCard {
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

export interface MyPaymentMethod {
  billingEnabled: boolean;
  required: boolean;
  publishableKey: string | null;
  paymentMethod: PaymentCard | null;
}

export type InvoiceConnection = Connection<InvoiceSummary>;

// ---------- documents ----------
const REFUND_FIELDS = gql`
  fragment RefundFields on Refund {
    id amountMinor reason kind state createdAt doneAt lastError sessionId invoiceId
  }
`;

const INVOICE_SUMMARY = gql`
  fragment InvoiceSummary on Invoice {
    id
    number
    kind
    issuedAt
    periodStart
    currency
    subtotalExclVatMinor
    vatMinor
    totalInclVatMinor
    refundedMinor
    paymentState
    paidAt
    pdfUrl
  }
`;

export const MY_INVOICES = gql`
  query MyInvoices($first: Int, $after: String) {
    myInvoices(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...InvoiceSummary } }
    }
  }
  ${INVOICE_SUMMARY}
`;

export const ALL_INVOICES = gql`
  query AllInvoices($first: Int, $after: String, $filter: InvoiceFilter, $withBuyer: Boolean!) {
    invoices(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          ...InvoiceSummary
          syncState
          lastError @include(if: $withBuyer)
          buyer @include(if: $withBuyer) { name email }
        }
      }
    }
  }
  ${INVOICE_SUMMARY}
`;

export const INVOICE = gql`
  query Invoice($id: ID!, $withBuyer: Boolean!, $withHostedUrl: Boolean!, $operator: Boolean!) {
    invoice(id: $id) {
      ...InvoiceSummary
      periodEnd
      emailedAt
      syncState
      lastError @include(if: $operator)
      hostedUrl @include(if: $withHostedUrl)
      buyer @include(if: $withBuyer) { name email address }
      lines {
        id position dimension description quantity unit unitPrice
        amountExclVatMinor vatPercent vatMinor amountInclVatMinor sessionId
      }
      refunds { ...RefundFields }
    }
  }
  ${INVOICE_SUMMARY}
  ${REFUND_FIELDS}
`;

export const INVOICED_SESSION = gql`
  query InvoicedSession($id: ID!) {
    session(id: $id) {
      id
      startedAt
      energyWh
      station { id ocppIdentity siteArea { id site { id name } } }
    }
  }
`;

export const SESSION_BILLING = gql`
  query SessionBilling($id: ID!) {
    session(id: $id) {
      id
      billingState
      billingNote
      refundedMinor
      invoice {
        id number currency issuedAt totalInclVatMinor refundedMinor paymentState
        lines { sessionId amountInclVatMinor }
      }
      refunds { ...RefundFields }
    }
  }
  ${REFUND_FIELDS}
`;

export const REFUND_SESSION = gql`
  mutation RefundSession($sessionId: ID!, $amountMinor: Int!, $reason: String!) {
    refundSession(sessionId: $sessionId, amountMinor: $amountMinor, reason: $reason) { ...RefundFields }
  }
  ${REFUND_FIELDS}
`;

export const INVOICE_SITES = gql`
  query InvoiceSites {
    sites(first: 100) { edges { node { id name } } }
  }
`;

export const INVOICE_USER = gql`
  query InvoiceUser($id: ID!) { user(id: $id) { id firstName lastName email } }
`;

const PAYMENT_METHOD_FIELDS = gql`
  fragment MyPaymentMethodFields on MyPaymentMethod {
    billingEnabled
    required
    publishableKey
    paymentMethod { brand last4 expMonth expYear }
  }
`;

export const MY_PAYMENT_METHOD = gql`
  query MyPaymentMethod { myPaymentMethod { ...MyPaymentMethodFields } }
  ${PAYMENT_METHOD_FIELDS}
`;

export const START_PAYMENT_METHOD_SETUP = gql`
  mutation StartPaymentMethodSetup { startPaymentMethodSetup { setupIntentId hostedUrl } }
`;

export const REFRESH_PAYMENT_METHOD = gql`
  mutation RefreshPaymentMethod { refreshPaymentMethod { ...MyPaymentMethodFields } }
  ${PAYMENT_METHOD_FIELDS}
`;

// ---------- money in minor units ----------

/** Minor units as an exact decimal string in the major unit: 1234 EUR → "12.34", 5 JPY → "5". */
export function minorToDecimal(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  if (!digits) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** "12,34 €" / "€12.34": an amount in minor units, in the UI language. */
export function formatMinor(minor: number, currency: string, locale: string): string {
  return formatMoney(minorToDecimal(minor, currency), currency, locale);
}

export type AmountProblem = "empty" | "invalid" | "tooManyDecimals" | "notPositive" | "tooLarge";

/** An amount typed in the currency's major unit ("12", "12.5", "12,50", "1 234,56") as integer
 * minor units, read digit by digit (never through a float). */
export function parseMajorToMinor(
  input: string,
  currency: string,
): { minor: number; problem: null } | { minor: null; problem: AmountProblem } {
  // Spaces (also the no-break spaces French uses between thousands) group digits: dropped.
  const text = input.replace(/[\s\u00a0\u202f]/g, "");
  if (!text) return { minor: null, problem: "empty" };
  const found = /^(\d*)(?:[.,](\d*))?$/.exec(text);
  if (!found || (!found[1] && !found[2])) return { minor: null, problem: "invalid" };
  const digits = minorDigits(currency);
  const whole = found[1] || "0";
  const fraction = (found[2] ?? "").replace(/0+$/, "");
  if (fraction.length > digits) return { minor: null, problem: "tooManyDecimals" };
  const joined = (whole + fraction.padEnd(digits, "0")).replace(/^0+(?=\d)/, "");
  // GraphQL's Int is 32-bit: larger amounts are no refund anyone means.
  if (joined.length > 9) return { minor: null, problem: "tooLarge" };
  const minor = Number.parseInt(joined, 10);
  if (minor <= 0) return { minor: null, problem: "notPositive" };
  return { minor, problem: null };
}

// ---------- errors ----------

/** Billing's own error codes, translated; the rest as everywhere else. A refund larger than what
 * is left says how much is left, in money. */
export function billingErrorText(
  error: CombinedError | undefined | null,
  t: Translate,
  money?: (minor: number) => string,
): { message: string; fields: Record<string, string>; refundable?: number } | null {
  const described = describeError(error, t);
  if (!described) return null;
  const ext = described.extensions;
  if (described.code === "PAYMENT_PROVIDER_ERROR") {
    return { message: t(ext.retryable ? "billing.errors.providerRetry" : "billing.errors.provider"), fields: {} };
  }
  if (described.code === "PAYMENTS_UNAVAILABLE") return { message: t("billing.errors.unavailable"), fields: {} };
  const fields = { ...described.fields };
  if (typeof ext.refundable === "number" && money) {
    const message = t("billing.refund.atMost", { values: { amount: money(ext.refundable) } });
    if (fields.amountMinor) fields.amountMinor = message;
    return { message, fields, refundable: ext.refundable };
  }
  const message = described.message || Object.values(fields).join(" ");
  return { message, fields };
}

// ---------- display ----------

/** The PDF on the origin the web app talks to (`pdfUrl` is absolute, for other clients: behind the
 * dev server's proxy it names another origin, which a `download` link would not follow). */
export function pdfPath(invoiceId: string): string {
  return `/invoices/${encodeURIComponent(invoiceId)}.pdf`;
}

/** A symbol beside the text of each state (never colour alone). */
export const PAYMENT_LOOK: Record<PaymentState, { tone: string; icon: string }> = {
  PAID: { tone: "ok", icon: "✓" },
  OPEN: { tone: "warn", icon: "◷" },
  FAILED: { tone: "bad", icon: "⚠" },
  VOID: { tone: "off", icon: "⊘" },
  LOCAL: { tone: "info", icon: "▤" },
};

export const REFUND_LOOK: Record<RefundState, { tone: string; icon: string }> = {
  DONE: { tone: "ok", icon: "✓" },
  PENDING: { tone: "warn", icon: "…" },
  FAILED: { tone: "bad", icon: "⚠" },
};

/** Local midnight of a yyyy-mm-dd date as an instant with offset; `plusDays` 1 makes `to` inclusive. */
export function dayStart(date: string, plusDays = 0): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export function formatDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(date);
}

/** "2026-11" → "November 2026" (monthly invoices: their period is a calendar month in UTC). */
export function formatMonth(iso: string | null | undefined, locale: string): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(iso));
}
