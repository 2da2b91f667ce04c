import { gql } from "@urql/core";

export const CONNECTOR_TYPES = ["Type2", "Type2Cable", "CCS2", "CHAdeMO", "Type1", "CCS1", "Domestic", "Type3", "GBT"] as const;

export const UPDATE_CONNECTOR = gql`
  mutation UpdateConnector($id: ID!, $input: ConnectorInput!) {
    updateConnector(id: $id, input: $input) { id type maxPowerW phases }
  }
`;
