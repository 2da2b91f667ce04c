/** A station's latest system-log entries (what it reported back: firmware and diagnostics
 * progress, events, device reports, security events, and its OCPP errors), for the station
 * page's "Recent reports" panel. Administrators only, like every system log. */
import { gql } from "@urql/core";
import type { LogEntry } from "./logs";

export const STATION_REPORT_COUNT = 10;

export type StationReport = Pick<LogEntry, "id" | "at" | "level" | "event" | "message" | "details">;

export const STATION_REPORTS = gql`
  query StationReports($stationId: ID!, $first: Int) {
    systemLogs(filter: { stationId: $stationId }, first: $first) {
      edges {
        node { id at level event message details }
      }
    }
  }
`;

/** The parts of a report's details worth one line: a status, a request, counts; the full
 * details stay on /admin/logs. */
export interface ReportSummary {
  status?: string;
  requestId?: string;
  items?: number;
  more?: boolean;
  count?: number;
  first?: string;
  type?: string;
  other?: string;
}

const scalar = (value: unknown): string | undefined =>
  typeof value === "string" || typeof value === "number" ? String(value) : undefined;

export function summarize(report: StationReport): ReportSummary {
  const d = report.details ?? {};
  switch (report.event) {
    case "station.firmware":
    case "station.diagnostics":
      return { status: scalar(d.status), requestId: scalar(d.request_id) };
    case "station.report":
      return { requestId: scalar(d.request_id), items: typeof d.items === "number" ? d.items : undefined, more: d.tbc === true };
    case "station.event": {
      const events = Array.isArray(d.events) ? (d.events as Record<string, unknown>[]) : [];
      const e = events[0];
      const name = e ? [scalar(e.component), scalar(e.variable)].filter(Boolean).join(".") : "";
      const value = e ? scalar(e.value) : undefined;
      return { count: typeof d.count === "number" ? d.count : events.length, first: name ? (value !== undefined ? `${name} = ${value}` : name) : undefined };
    }
    case "station.security_event":
      return { type: scalar(d.type) };
    default: {
      // Other entries (OCPP errors, admin actions): their first few plain values.
      const parts = Object.entries(d)
        .filter(([, v]) => scalar(v) !== undefined)
        .slice(0, 3)
        .map(([k, v]) => `${k}: ${scalar(v)}`);
      return parts.length ? { other: parts.join(" · ") } : {};
    }
  }
}
