/** The station commands of the "Advanced" part of the station page: firmware update, charging
 * profiles and the composite schedule (backend/graphql/mutations/stations.py). Like every
 * command, each answers with the station's own status; STATION_OFFLINE, STATION_TIMEOUT and
 * STATION_REJECTED come back as errors. */
import { gql } from "@urql/core";

export type RateUnit = "A" | "W";

export interface CommandAnswer {
  status: string;
  accepted: boolean;
}

export const UPDATE_FIRMWARE = gql`
  mutation UpdateFirmware($stationId: ID!, $location: String!, $retrieveAt: DateTime!, $retries: Int) {
    updateFirmware(stationId: $stationId, location: $location, retrieveAt: $retrieveAt, retries: $retries) {
      status
      accepted
    }
  }
`;

/** The `ChargingProfileInput` the page builds: one absolute period from the profile's start. */
export interface ChargingProfileInput {
  id: number;
  stackLevel: number;
  purpose: "TX_DEFAULT_PROFILE";
  kind: "ABSOLUTE";
  rateUnit: RateUnit;
  startSchedule: string;
  durationS: number | null;
  periods: { startPeriodS: number; limit: number }[];
}

export const SET_CHARGING_PROFILE = gql`
  mutation SetChargingProfile($stationId: ID!, $connectorId: Int!, $profile: ChargingProfileInput!) {
    setChargingProfile(stationId: $stationId, connectorId: $connectorId, profile: $profile) {
      status
      accepted
    }
  }
`;

export const CLEAR_CHARGING_PROFILE = gql`
  mutation ClearChargingProfile(
    $stationId: ID!
    $profileId: Int
    $connectorId: Int
    $purpose: ChargingProfilePurpose
  ) {
    clearChargingProfile(stationId: $stationId, profileId: $profileId, connectorId: $connectorId, purpose: $purpose) {
      status
      accepted
    }
  }
`;

export const GET_COMPOSITE_SCHEDULE = gql`
  mutation GetCompositeSchedule($stationId: ID!, $connectorId: Int!, $durationS: Int!, $rateUnit: ChargingRateUnit) {
    getCompositeSchedule(stationId: $stationId, connectorId: $connectorId, durationS: $durationS, rateUnit: $rateUnit) {
      status
      accepted
      schedule
    }
  }
`;

export interface CompositeScheduleAnswer extends CommandAnswer {
  /** The station's answer as it sent it, in OCPP camelCase. */
  schedule: Record<string, unknown> | null;
}

export interface SchedulePeriod {
  startS: number;
  limit: number;
  phases: number | null;
}

export interface CompositeSchedule {
  unit: string | null;
  start: string | null;
  durationS: number | null;
  periods: SchedulePeriod[];
}

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function numberOrNull(value: unknown): number | null {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

/** The periods of a GetCompositeSchedule answer, whichever OCPP version sent it: 1.6 puts them
 * in `chargingSchedule` beside `scheduleStart`, 2.0.1 in `schedule` with its own start. */
export function readCompositeSchedule(answer: Record<string, unknown> | null): CompositeSchedule | null {
  if (!answer) return null;
  const schedule = record(answer.chargingSchedule) ?? record(answer.schedule);
  if (!schedule) return null;
  const rawPeriods = Array.isArray(schedule.chargingSchedulePeriod) ? schedule.chargingSchedulePeriod : [];
  const periods: SchedulePeriod[] = [];
  for (const raw of rawPeriods) {
    const period = record(raw);
    const startS = numberOrNull(period?.startPeriod);
    const limit = numberOrNull(period?.limit);
    if (period && startS !== null && limit !== null) periods.push({ startS, limit, phases: numberOrNull(period.numberPhases) });
  }
  periods.sort((a, b) => a.startS - b.startS);
  const start = answer.scheduleStart ?? schedule.scheduleStart ?? schedule.startSchedule;
  return {
    unit: typeof schedule.chargingRateUnit === "string" ? schedule.chargingRateUnit : null,
    start: typeof start === "string" ? start : null,
    durationS: numberOrNull(schedule.duration),
    periods,
  };
}
