/** Data rights in the web app: the GraphQL documents and API shapes of `me { privacy }`,
 * `userPrivacy`, erasure requests and the privacy mutations, and the download links.
 *
 * Who may do what is the server's business (backend/domain/privacy): the person themself, and
 * administrators and the data protection officer (role DPO) for anyone, through `userId`. */
import { gql } from "@urql/core";
import type { Role } from "../types";

// ---------- API shapes ----------
export const PURPOSES = ["ANALYTICS", "DATA_SCIENCE_EXPORT", "DEMAND_PREDICTION", "SMART_CHARGING_PERSONALIZATION"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** What `excludeFromAnalytics` (the restriction of processing) switches off at once
 * (backend/db/models/users.py RESTRICTED_BY_ANALYTICS_OPT_OUT). */
export const RESTRICTED_BY_OPT_OUT: readonly Purpose[] = ["ANALYTICS", "DATA_SCIENCE_EXPORT", "DEMAND_PREDICTION"];

export interface ConsentEvent {
  policyVersion: string;
  givenAt: string;
  withdrawnAt: string | null;
  standing: boolean;
}

export interface ExportUrls {
  personalData: string;
  sessionsCsv: string;
}

export interface PrivacyState {
  userId: string;
  excludeFromAnalytics: boolean;
  nonessentialNotifications: boolean;
  objections: Purpose[];
  erasureRequestedAt: string | null;
  erasureWarningSentAt: string | null;
  inactivityErasureDays: number;
  consentHistory: ConsentEvent[];
  exportUrls: ExportUrls;
}

export interface ErasureRequest {
  userId: string;
  firstName: string;
  lastName: string;
  email: string;
  requestedAt: string;
  blockedReason: string | null;
}

export interface ErasureResult {
  userId: string;
  pseudonym: string;
  sessionsKept: number;
  invoicesKept: number;
  providerCustomer: string;
}

/** Admins and the data protection officer handle anyone's data rights. */
export function handlesDataRights(role: Role | null | undefined): boolean {
  return role === "ADMIN" || role === "DPO";
}

// ---------- documents ----------
const PRIVACY_FIELDS = gql`
  fragment PrivacyFields on Privacy {
    userId
    excludeFromAnalytics
    nonessentialNotifications
    objections
    erasureRequestedAt
    erasureWarningSentAt
    inactivityErasureDays
    consentHistory { policyVersion givenAt withdrawnAt standing }
    exportUrls { personalData sessionsCsv }
  }
`;

export const MY_PRIVACY = gql`
  query MyPrivacy {
    me { id privacy { ...PrivacyFields } }
  }
  ${PRIVACY_FIELDS}
`;

export const USER_PRIVACY = gql`
  query UserPrivacy($userId: ID!) {
    userPrivacy(userId: $userId) { ...PrivacyFields }
  }
  ${PRIVACY_FIELDS}
`;

export const ERASURE_REQUESTS = gql`
  query ErasureRequests {
    erasureRequests { userId firstName lastName email requestedAt blockedReason }
  }
`;

export const SET_PRIVACY_PREFERENCES = gql`
  mutation SetPrivacyPreferences($input: PrivacyPreferencesInput!, $userId: ID) {
    setPrivacyPreferences(input: $input, userId: $userId) { ...PrivacyFields }
  }
  ${PRIVACY_FIELDS}
`;

export const OBJECT_TO = gql`
  mutation ObjectTo($purpose: ProcessingPurpose!, $objected: Boolean!, $userId: ID) {
    objectTo(purpose: $purpose, objected: $objected, userId: $userId) { ...PrivacyFields }
  }
  ${PRIVACY_FIELDS}
`;

export const REQUEST_ERASURE = gql`
  mutation RequestErasure($userId: ID) {
    requestErasure(userId: $userId) { ...PrivacyFields }
  }
  ${PRIVACY_FIELDS}
`;

export const CANCEL_ERASURE_REQUEST = gql`
  mutation CancelErasureRequest($userId: ID) {
    cancelErasureRequest(userId: $userId) { ...PrivacyFields }
  }
  ${PRIVACY_FIELDS}
`;

export const CONFIRM_ERASURE = gql`
  mutation ConfirmErasure($userId: ID!) {
    confirmErasure(userId: $userId) { userId pseudonym sessionsKept invoicesKept providerCustomer }
  }
`;

export const WITHDRAW_CONSENT = gql`
  mutation WithdrawConsent($userId: ID) { withdrawConsent(userId: $userId) }
`;

// ---------- download links ----------
export interface SessionsPart {
  /** "YYYY-MM-DD" from a date input, first day included (local midnight). */
  from: string;
  /** "YYYY-MM-DD", last day included (up to the next local midnight). */
  to: string;
  siteId: string;
}

/** A local calendar day's midnight as ISO 8601 with offset (the server wants an offset). */
function localMidnight(day: string, plusDays = 0): string | null {
  const [y, m, d] = day.split("-").map(Number);
  if (!y || !m || !d) return null;
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/** The sessions CSV link (the server's `exportUrls.sessionsCsv`, which already carries
 * `?userId=` for someone else's) with the chosen period and site. */
export function sessionsCsvHref(base: string, part: SessionsPart): string {
  const url = new URL(base, window.location.origin);
  const from = part.from ? localMidnight(part.from) : null;
  // "to" is exclusive on the server: the day after the last day chosen.
  const to = part.to ? localMidnight(part.to, 1) : null;
  if (from) url.searchParams.set("from", from);
  if (to) url.searchParams.set("to", to);
  if (part.siteId) url.searchParams.set("siteId", part.siteId);
  return url.pathname + url.search;
}

/** Whose privacy an admin looks at: name and sites (null for the DPO, who reads no profiles). */
export interface PrivacySubject {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  siteMemberships: { site: { id: string; name: string } }[];
}

export const PRIVACY_SUBJECT = gql`
  query PrivacySubject($id: ID!) {
    user(id: $id) { id firstName lastName email siteMemberships { site { id name } } }
  }
`;
