export type Role = "BASIC" | "ADMIN" | "DEMO" | "DPO";
export type UserStatus = "PENDING" | "ACTIVE" | "INACTIVE" | "BLOCKED" | "LOCKED";
export type SiteRole = "MEMBER" | "SITE_ADMIN" | "SITE_OWNER";
export type Language = "EN" | "FR" | "DE";

export const ROLES: Role[] = ["BASIC", "ADMIN", "DEMO", "DPO"];
export const USER_STATUSES: UserStatus[] = ["PENDING", "ACTIVE", "INACTIVE", "BLOCKED", "LOCKED"];
export const LANGUAGES: Language[] = ["EN", "FR", "DE"];

export interface Address {
  street: string | null;
  postalCode: string | null;
  city: string | null;
  region: string | null;
  country: string | null;
}

export interface User {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  mobile: string | null;
  language: Language;
  pictureUrl: string | null;
  address: Address | null;
  professionalId: string | null;
  costCenter: string | null;
  company: string | null;
  department: string | null;
  role: Role;
  status: UserStatus;
  emailVerified: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface Me extends User {
  siteMemberships: { role: SiteRole; site: { id: string; name: string } }[];
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<T> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: { cursor?: string; node: T }[];
}

export interface RfidCard {
  id: string;
  uid: string;
  description: string | null;
  active: boolean;
  createdAt: string;
}

export interface Vehicle {
  id: string;
  plate: string;
  vin: string | null;
  make: string | null;
  model: string | null;
  batteryCapacityWh: number | null;
  maxAcPowerW: number | null;
  maxDcPowerW: number | null;
  acPhases: number;
  isDefault: boolean;
}

export interface Connector {
  id: string;
  connectorId: number;
  evseId: number;
  type: string | null;
  maxPowerW: number | null;
  phases: number | null;
  status: string;
  errorCode: string | null;
}

export interface Station {
  id: string;
  ocppIdentity: string;
  description: string | null;
  vendor: string | null;
  model: string | null;
  serialNumber: string | null;
  firmwareVersion: string | null;
  ocppVersion: string | null;
  registrationStatus: "PENDING" | "ACCEPTED" | "REJECTED";
  lastSeenAt: string | null;
  lenient?: boolean;
  online: boolean;
  siteArea: { id: string } | null;
  connectors: Connector[];
}

export interface SiteArea {
  id: string;
  name: string;
  maxPowerW: number;
  phases: number;
  voltage: number;
  accessControl: boolean;
  smartCharging: boolean;
  /** The area of the same site this one is inside; null: directly on the site. */
  parentAreaId: string | null;
  stations: Station[];
}

export interface Site {
  id: string;
  name: string;
  address: Address | null;
  latitude: number | null;
  longitude: number | null;
  timezone: string;
  stationCount: number;
  siteAreas: SiteArea[];
}
