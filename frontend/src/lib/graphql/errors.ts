import type { CombinedError } from "@urql/core";

/** Error codes the API puts in `extensions.code`. */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "INVALID_CREDENTIALS",
  "CONSENT_REQUIRED",
  "ACCOUNT_NOT_ACTIVE",
  "ACCOUNT_LOCKED",
  "TOO_MANY_ATTEMPTS",
  "EMAIL_NOT_VERIFIED",
  "INVALID_TOKEN",
  "STATION_OFFLINE",
  "STATION_TIMEOUT",
  "STATION_REJECTED",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number] | "NETWORK";

export interface ApiError {
  code: ErrorCode | string;
  /** Translated message for the whole form (empty when all errors are field errors). */
  message: string;
  /** Messages keyed by input field path, "input." prefix removed (e.g. "email", "address.city"). */
  fields: Record<string, string>;
  extensions: Record<string, unknown>;
}

type Value = string | number | boolean | Date | null | undefined;
export type Translate = (id: string, options?: { values?: Record<string, Value>; default?: string }) => string;

export function fieldKey(field: string): string {
  return field.replace(/^input\./, "");
}

function messageFor(code: string, ext: Record<string, unknown>, fallback: string, t: Translate): string {
  const values: Record<string, Value> = {};
  if (code === "ACCOUNT_LOCKED" || code === "TOO_MANY_ATTEMPTS") {
    const secs = Number(ext.retryAfterSeconds ?? 0);
    values.minutes = Math.max(1, Math.ceil(secs / 60));
  }
  if (code === "ACCOUNT_NOT_ACTIVE") {
    const status = String(ext.status ?? "");
    values.status = status ? t(`userStatus.${status}`, { default: status }) : "—";
  }
  if (code === "CONSENT_REQUIRED") values.version = String(ext.policyVersion ?? "");
  if (code === "BAD_USER_INPUT" || !(ERROR_CODES as readonly string[]).includes(code)) {
    return fallback || t("errors.INTERNAL");
  }
  return t(`errors.${code}`, { values });
}

/** Turn an urql CombinedError into translated, display-ready messages. */
export function describeError(error: CombinedError | undefined | null, t: Translate): ApiError | null {
  if (!error) return null;
  if (error.networkError && !error.graphQLErrors.length) {
    return { code: "NETWORK", message: t("errors.NETWORK"), fields: {}, extensions: {} };
  }
  const fields: Record<string, string> = {};
  const messages: string[] = [];
  let first: { code: string; extensions: Record<string, unknown> } | null = null;
  for (const gqlError of error.graphQLErrors) {
    const ext = (gqlError.extensions ?? {}) as Record<string, unknown>;
    const code = String(ext.code ?? "INTERNAL");
    first ??= { code, extensions: ext };
    const msg = messageFor(code, ext, gqlError.message, t);
    if (code === "BAD_USER_INPUT" && typeof ext.field === "string" && ext.field) {
      fields[fieldKey(ext.field)] = msg;
    } else if (!messages.includes(msg)) {
      messages.push(msg);
    }
  }
  if (!messages.length && Object.keys(fields).length) messages.push(t("errors.CHECK_FIELDS"));
  return {
    code: first?.code ?? "INTERNAL",
    message: messages.join(" "),
    fields,
    extensions: first?.extensions ?? {},
  };
}

/** One line for a status message: the form message, or the field messages when there is none. */
export function errorText(error: CombinedError | undefined | null, t: Translate): string | null {
  const described = describeError(error, t);
  if (!described) return null;
  const fields = Object.values(described.fields);
  if (fields.length && (!described.message || described.message === t("errors.CHECK_FIELDS"))) return fields.join(" ");
  return described.message;
}
