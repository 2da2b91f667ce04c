/** Charging: types of the live pages, connector status display, durations, live subscriptions. */
import type { AnyVariables, DocumentInput, OperationResult } from "@urql/core";
import { client, mutate } from "./graphql/client";
import { REMOTE_STOP } from "./graphql/charging";
import { errorText, type Translate } from "./graphql/errors";
import { DASH } from "./format";

export const CONNECTOR_STATUSES = [
  "Available",
  "Preparing",
  "Charging",
  "SuspendedEV",
  "SuspendedEVSE",
  "Finishing",
  "Reserved",
  "Unavailable",
  "Faulted",
  "Occupied", // OCPP 2.0.1
] as const;

/** Colour class and a symbol for each status: never colour alone (text is always shown too). */
const STATUS_LOOK: Record<string, { tone: string; icon: string }> = {
  Available: { tone: "available", icon: "✓" },
  Preparing: { tone: "preparing", icon: "…" },
  Charging: { tone: "charging", icon: "⚡" },
  Occupied: { tone: "charging", icon: "●" },
  SuspendedEV: { tone: "suspended", icon: "⏸" },
  SuspendedEVSE: { tone: "suspended", icon: "⏸" },
  Finishing: { tone: "preparing", icon: "⏹" },
  Reserved: { tone: "reserved", icon: "🔒" },
  Unavailable: { tone: "unavailable", icon: "⊘" },
  Faulted: { tone: "faulted", icon: "⚠" },
  Unknown: { tone: "unknown", icon: "?" },
};

export function statusLook(status: string | null | undefined): { tone: string; icon: string; key: string } {
  const known = status && STATUS_LOOK[status];
  if (known) return { ...known, key: `connectorStatus.${status}` };
  return { tone: "unknown", icon: "?", key: "connectorStatus.Unknown" };
}

/** A session is using the connector (busy, whether charging or not). */
export function isBusy(status: string): boolean {
  return ["Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied"].includes(status);
}

export interface CurrentSession {
  id: string;
  instantPowerW: number;
  energyWh: number;
  startedAt: string;
  user: { id: string } | null;
}

export interface LiveConnector {
  id: string;
  connectorId: number;
  evseId: number;
  type: string | null;
  maxPowerW: number | null;
  phases: number | null;
  status: string;
  errorCode: string | null;
  currentSession: CurrentSession | null;
}

export interface LiveStation {
  id: string;
  ocppIdentity: string;
  description: string | null;
  vendor: string | null;
  model: string | null;
  ocppVersion: string | null;
  registrationStatus: "PENDING" | "ACCEPTED" | "REJECTED";
  lastSeenAt: string | null;
  online: boolean;
  connectors: LiveConnector[];
}

export interface MapSite {
  id: string;
  name: string;
  latitude: number | null;
  longitude: number | null;
  stations: number;
  charging: number;
  available: number;
}

export interface StationStatusEvent {
  kind: "station" | "connector";
  stationId: string;
  connected: boolean | null;
  registrationStatus: LiveStation["registrationStatus"] | null;
  lastSeenAt: string | null;
  status: string | null;
  errorCode: string | null;
  connectorId: string | null;
  connectorNumber: number | null;
  at: string | null;
}

export interface SessionSummary {
  id: string;
  status: "ACTIVE" | "COMPLETED";
  startedAt: string;
  stoppedAt: string | null;
  energyWh: number;
  instantPowerW: number;
  inactivityS: number;
  durationS: number;
  stopReason: string | null;
  connectorId: number | null;
  user: { id: string; firstName: string | null; lastName: string | null; email: string | null } | null;
  station: { id: string; ocppIdentity: string; siteArea: { id: string; site: { id: string; name: string } } | null } | null;
}

export interface CurvePoint {
  at: string;
  powerW: number | null;
  energyWh: number | null;
  currentL1: number | null;
  currentL2: number | null;
  currentL3: number | null;
  soc: number | null;
}

export interface SessionCurveEvent {
  kind: "started" | "updated" | "stopped";
  sessionId: string;
  energyWh: number | null;
  instantPowerW: number | null;
  inactivityS: number | null;
  rebuilt: boolean;
  stoppedAt: string | null;
  stopReason: string | null;
  points: { at: string; energyWh: number | null; powerW: number | null; currentA: (number | null)[]; socPercent: number | null }[];
}

/** Apply a status event to a station in place; returns false when the event is not about it. */
export function applyStatusEvent(station: LiveStation, event: StationStatusEvent): boolean {
  if (event.stationId !== station.id) return false;
  if (event.kind === "station") {
    if (event.connected !== null) station.online = event.connected;
    if (event.registrationStatus) station.registrationStatus = event.registrationStatus;
    if (event.lastSeenAt) station.lastSeenAt = event.lastSeenAt;
    return true;
  }
  const connector = station.connectors.find((c) => !!event.connectorId && c.id === event.connectorId);
  if (connector && event.status) {
    connector.status = event.status;
    connector.errorCode = event.errorCode;
    if (!isBusy(event.status)) connector.currentSession = null;
  }
  station.online = true;
  return true;
}

/** Seconds → "1 h 05 min" / "4 min 12 s" (locale independent symbols). */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(sec).padStart(2, "0")} s`;
  return `${sec} s`;
}

export function formatNumber(value: number, locale: string, digits = 1): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}

/** W → "7.4 kW"; Wh → "12.3 kWh" (always one decimal, so live numbers do not jump). */
export function kw(watts: number | null | undefined, locale: string): string {
  if (watts === null || watts === undefined) return DASH;
  return `${formatNumber(watts / 1000, locale)} kW`;
}
export function kwh(wh: number | null | undefined, locale: string): string {
  if (wh === null || wh === undefined) return DASH;
  return `${formatNumber(wh / 1000, locale, 2)} kWh`;
}

/**
 * Start a GraphQL subscription; `onData` gets each payload, `onError` the first error.
 * Returns the function that stops it.
 */
export function subscribe<Data, Vars extends AnyVariables = AnyVariables>(
  doc: DocumentInput<Data, Vars>,
  variables: Vars,
  onData: (data: Data) => void,
  onError?: (result: OperationResult<Data, Vars>) => void,
): () => void {
  const subscription = client.subscription(doc, variables).subscribe((result) => {
    // Partial data (a field this viewer may not read) still carries the event.
    if (result.data) onData(result.data);
    else if (result.error) onError?.(result);
  });
  return () => subscription.unsubscribe();
}

/** Ask the station to stop a session; the message to show, whatever the outcome. */
export async function requestStop(
  sessionId: string,
  t: Translate,
): Promise<{ kind: "success" | "error"; message: string }> {
  const result = await mutate<{ remoteStop: { status: string; accepted: boolean } }>(REMOTE_STOP, { sessionId });
  if (result.error) return { kind: "error", message: errorText(result.error, t) ?? "" };
  const answer = result.data!.remoteStop;
  return answer.accepted
    ? { kind: "success", message: t("charge.stopAccepted") }
    : { kind: "error", message: t("charge.stopRefused", { values: { status: answer.status } }) };
}
