/** The stations page (/stations): stations page by page, ordered by site then identity so the
 * page can group them by site, with a search (identity, description, vendor and model, site
 * name; backend/domain/stations.py `listing`), and the pending stations paged the same way. */
import { gql } from "@urql/core";
import { LIVE_STATION } from "./charging";
import type { LiveStation } from "../charging";
import type { Connection } from "../types";

export const STATIONS_PAGE_SIZE = 50;
export const PENDING_PAGE_SIZE = 20;

export interface ListedSite {
  id: string;
  name: string;
  latitude: number | null;
  longitude: number | null;
  stationCount: number;
  address: { city: string | null; country: string | null } | null;
}

export interface ListedStation extends LiveStation {
  siteArea: { id: string; name: string; site: ListedSite } | null;
}

export type StationsPage = { stations: Connection<ListedStation> };

// The LiveStation fields (so that status events and refetches apply to these rows alike),
// plus where each station is.
const LISTED_STATION = gql`
  fragment ListedStation on ChargingStation {
    ...LiveStation
    siteArea {
      id
      name
      site { id name latitude longitude stationCount address { city country } }
    }
  }
  ${LIVE_STATION}
`;

export const STATIONS_LIST = gql`
  query StationsList($first: Int, $after: String, $filter: StationFilter, $manager: Boolean!, $withUser: Boolean!) {
    stations(first: $first, after: $after, filter: $filter, orderBy: SITE) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...ListedStation } }
    }
  }
  ${LISTED_STATION}
`;

export const LISTED_STATION_QUERY = gql`
  query ListedStationQuery($id: ID!, $manager: Boolean!, $withUser: Boolean!) {
    station(id: $id) { ...ListedStation }
  }
  ${LISTED_STATION}
`;

export const PENDING_STATIONS_PAGE = gql`
  query PendingStationsPage($first: Int, $after: String, $manager: Boolean!, $withUser: Boolean!) {
    stations(first: $first, after: $after, filter: { registrationStatus: PENDING }) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...ListedStation } }
    }
  }
  ${LISTED_STATION}
`;
