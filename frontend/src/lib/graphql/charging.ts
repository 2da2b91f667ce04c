import { gql } from "@urql/core";

// ---------- fragments ----------
const SESSION_SUMMARY = gql`
  fragment SessionSummary on ChargingSession {
    id
    status
    startedAt
    stoppedAt
    energyWh
    instantPowerW
    inactivityS
    durationS
    stopReason
    connectorId
    user @include(if: $withUser) { id firstName lastName email }
    station { id ocppIdentity siteArea { id site { id name } } }
  }
`;

export const LIVE_STATION = gql`
  fragment LiveStation on ChargingStation {
    id
    ocppIdentity
    description
    vendor
    model
    ocppVersion @include(if: $manager)
    registrationStatus @include(if: $manager)
    lastSeenAt @include(if: $manager)
    online
    connectors {
      id
      connectorId
      evseId
      type
      maxPowerW
      phases
      status
      errorCode
      currentSession { id instantPowerW energyWh startedAt user @include(if: $withUser) { id } }
    }
  }
`;

// ---------- stations ----------
export const LIVE_STATION_QUERY = gql`
  query LiveStationQuery($id: ID!, $manager: Boolean!, $withUser: Boolean!) {
    station(id: $id) { ...LiveStation }
  }
  ${LIVE_STATION}
`;

export const STATION_DETAIL = gql`
  query StationDetail($id: ID!, $manager: Boolean!, $withUser: Boolean!) {
    station(id: $id) {
      ...LiveStation
      serialNumber @include(if: $manager)
      firmwareVersion @include(if: $manager)
      hasPassword @include(if: $manager)
      siteArea { id name site { id name } }
    }
  }
  ${LIVE_STATION}
`;

export const SITE_AREAS = gql`
  query SiteAreasForAccept {
    sites(first: 100) { edges { node { id name siteAreas { id name } } } }
  }
`;

export const STATION_STATUS = gql`
  subscription StationStatus($siteId: ID, $manager: Boolean!) {
    stationStatus(siteId: $siteId) {
      kind
      stationId
      connected
      registrationStatus @include(if: $manager)
      lastSeenAt @include(if: $manager)
      status
      errorCode
      connectorId
      connectorNumber
      at
    }
  }
`;

// ---------- sessions ----------
export const SESSIONS = gql`
  query Sessions($first: Int, $after: String, $filter: SessionFilter, $withUser: Boolean!) {
    sessions(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { ...SessionSummary } }
    }
  }
  ${SESSION_SUMMARY}
`;

const SESSION_COST = gql`
  fragment SessionCost on ChargingSession {
    tariff { id name currency vatPercent }
    cost {
      currency totalExclVat totalVat totalInclVat pricedUntil final
      lines { dimension quantity unit unitPrice stepSize amountExclVat vatPercent vat amountInclVat }
    }
  }
`;

const SESSION_GOAL = gql`
  fragment SessionGoal on ChargingSession {
    departureAt
    energyWantedWh
    plannedSchedule { at currentA }
  }
`;

export const SESSION_DETAIL = gql`
  query SessionDetail($id: ID!, $maxPoints: Int, $withUser: Boolean!) {
    session(id: $id) {
      ...SessionSummary
      ...SessionCost
      ...SessionGoal
      transactionId
      curve(maxPoints: $maxPoints) {
        at powerW energyWh currentL1 currentL2 currentL3 soc
      }
      costCurve(maxPoints: $maxPoints) { at totalExclVat totalInclVat }
    }
  }
  ${SESSION_SUMMARY}
  ${SESSION_COST}
  ${SESSION_GOAL}
`;

/** The goal and the smart charging plan alone: read again after a goal change or new readings. */
export const SESSION_PLAN = gql`
  query SessionPlan($id: ID!) {
    session(id: $id) { id ...SessionGoal }
  }
  ${SESSION_GOAL}
`;

export const UPDATE_SESSION_GOAL = gql`
  mutation UpdateSessionGoal($sessionId: ID!, $departureAt: DateTime, $energyWantedWh: Int) {
    updateSessionGoal(sessionId: $sessionId, departureAt: $departureAt, energyWantedWh: $energyWantedWh) {
      id
      ...SessionGoal
    }
  }
  ${SESSION_GOAL}
`;

export const SESSION_CURVE = gql`
  subscription SessionCurve($sessionId: ID!) {
    sessionCurve(sessionId: $sessionId) {
      kind
      sessionId
      energyWh
      instantPowerW
      inactivityS
      rebuilt
      stoppedAt
      stopReason
      points { at energyWh powerW currentA socPercent }
    }
  }
`;

/** The session page's stream: the curve with each point's cumulated cost and the running cost. */
export const SESSION_CURVE_COST = gql`
  subscription SessionCurveCost($sessionId: ID!) {
    sessionCurve(sessionId: $sessionId) {
      kind
      sessionId
      energyWh
      instantPowerW
      inactivityS
      rebuilt
      stoppedAt
      stopReason
      cost { currency totalExclVatMinor totalVatMinor totalInclVatMinor final }
      points { at energyWh powerW currentA socPercent costExclVatMinor costInclVatMinor }
    }
  }
`;

export const UNKNOWN_BADGES = gql`
  query UnknownBadges {
    unknownBadges(limit: 200) { id uid firstSeenAt lastSeenAt count station { id ocppIdentity } }
  }
`;

// ---------- commands ----------
export const REMOTE_START = gql`
  mutation RemoteStart($stationId: ID!, $connectorId: Int!) {
    remoteStart(stationId: $stationId, connectorId: $connectorId) { status accepted }
  }
`;
export const REMOTE_STOP = gql`
  mutation RemoteStop($sessionId: ID!) { remoteStop(sessionId: $sessionId) { status accepted } }
`;
export const RESET_STATION = gql`
  mutation ResetStation($stationId: ID!, $type: ResetType!) {
    resetStation(stationId: $stationId, type: $type) { status accepted }
  }
`;
export const UNLOCK_CONNECTOR = gql`
  mutation UnlockConnector($stationId: ID!, $connectorId: Int!) {
    unlockConnector(stationId: $stationId, connectorId: $connectorId) { status accepted }
  }
`;
export const CHANGE_AVAILABILITY = gql`
  mutation ChangeAvailability($stationId: ID!, $operative: Boolean!, $connectorId: Int!) {
    changeAvailability(stationId: $stationId, operative: $operative, connectorId: $connectorId) { status accepted }
  }
`;
export const GET_CONFIGURATION = gql`
  mutation GetConfiguration($stationId: ID!, $keys: [String!]) {
    getConfiguration(stationId: $stationId, keys: $keys) {
      status accepted unknownKeys keys { key value readonly }
    }
  }
`;
export const CHANGE_CONFIGURATION = gql`
  mutation ChangeConfiguration($stationId: ID!, $key: String!, $value: String!) {
    changeConfiguration(stationId: $stationId, key: $key, value: $value) { status accepted }
  }
`;
export const TRIGGER_MESSAGE = gql`
  mutation TriggerMessage($stationId: ID!, $message: TriggerableMessage!, $connectorId: Int) {
    triggerMessage(stationId: $stationId, message: $message, connectorId: $connectorId) { status accepted }
  }
`;
export const CLEAR_CACHE = gql`
  mutation ClearCache($stationId: ID!) { clearCache(stationId: $stationId) { status accepted } }
`;
export const ACCEPT_STATION = gql`
  mutation AcceptStation($stationId: ID!, $siteAreaId: ID) {
    acceptStation(stationId: $stationId, siteAreaId: $siteAreaId) { id registrationStatus }
  }
`;
export const REJECT_STATION = gql`
  mutation RejectStation($stationId: ID!) { rejectStation(stationId: $stationId) { id registrationStatus } }
`;
export const SET_STATION_PASSWORD = gql`
  mutation SetStationPassword($stationId: ID!) { setStationPassword(stationId: $stationId) }
`;
export const CREATE_REGISTRATION_TOKEN = gql`
  mutation CreateRegistrationToken($siteAreaId: ID!, $description: String, $expiresAt: DateTime) {
    createRegistrationToken(siteAreaId: $siteAreaId, description: $description, expiresAt: $expiresAt) {
      token
      registrationToken { id siteAreaId description createdAt expiresAt revokedAt }
    }
  }
`;
export const REGISTRATION_TOKENS = gql`
  query RegistrationTokens($id: ID!) {
    siteArea(id: $id) { id registrationTokens { id siteAreaId description createdAt expiresAt revokedAt } }
  }
`;
export const REVOKE_REGISTRATION_TOKEN = gql`
  mutation RevokeRegistrationToken($id: ID!) { revokeRegistrationToken(id: $id) }
`;
