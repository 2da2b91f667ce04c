/** System logs for administrators (/admin/logs): OCPP errors, security events and jobs, with the
 * audit log merged in as the category ADMIN (backend/domain/system_logs.py). Entries name
 * stations and people by id; their details never hold passwords, tokens or badge numbers. */
import { gql } from "@urql/core";
import type { Connection } from "../types";

export const LOG_LEVELS = ["INFO", "WARNING", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_CATEGORIES = ["OCPP", "SECURITY", "ADMIN", "BILLING", "SYSTEM"] as const;
export type LogCategory = (typeof LOG_CATEGORIES)[number];

export interface LogEntry {
  id: string;
  source: "SYSTEM" | "AUDIT";
  at: string;
  level: LogLevel;
  category: LogCategory;
  event: string;
  message: string;
  stationId: string | null;
  ocppIdentity: string | null;
  userId: string | null;
  details: Record<string, unknown>;
}

export interface LogFilter {
  from?: string;
  to?: string;
  level?: LogLevel;
  category?: LogCategory;
  stationId?: string;
  search?: string;
}

export const SYSTEM_LOGS = gql`
  query SystemLogs($filter: SystemLogFilter, $first: Int, $after: String) {
    systemLogs(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node { id source at level category event message stationId ocppIdentity userId details }
      }
    }
  }
`;

export const LOG_STATIONS = gql`
  query LogStations {
    stations(first: 100) { edges { node { id ocppIdentity } } }
  }
`;

export type LogConnection = Connection<LogEntry>;

/** The icon beside each level's name (the name is always written out too). */
export const LEVEL_ICON: Record<LogLevel, string> = { INFO: "ℹ", WARNING: "⚠", ERROR: "✖" };
export const LEVEL_CLASS: Record<LogLevel, string> = { INFO: "off", WARNING: "warn", ERROR: "bad" };

/** The i18n key of an event's sentence ("ocpp.malformed_frame" → "logs.events.ocpp_malformed_frame");
 * events without one (audit actions) show the stored message. */
export function eventKey(event: string): string {
  return `logs.events.${event.replace(/[^a-zA-Z0-9]/g, "_")}`;
}

/** Details as indented JSON, for the expandable cell. */
export function detailsText(details: Record<string, unknown> | null | undefined): string {
  return JSON.stringify(details ?? {}, null, 2);
}

export function hasDetails(details: Record<string, unknown> | null | undefined): boolean {
  return !!details && Object.keys(details).length > 0;
}
