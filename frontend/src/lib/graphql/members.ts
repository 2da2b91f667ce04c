/** A site's members, managed on the site page by administrators and the site's managers
 * (backend/domain/sites.py). People are added by their exact email address only: the API
 * offers no way for a site manager to list or search accounts. */
import { gql } from "@urql/core";
import type { Connection, SiteRole } from "../types";

/** The schema's SiteRole values, least rights first. */
export const SITE_ROLES: readonly SiteRole[] = ["MEMBER", "SITE_ADMIN", "SITE_OWNER"];

export interface SiteMember {
  role: SiteRole;
  user: { id: string; email: string; firstName: string; lastName: string };
}

export type SiteMemberConnection = Connection<SiteMember>;

export const SITE_MEMBERS = gql`
  query SiteMembers($id: ID!, $first: Int, $after: String) {
    site(id: $id) {
      id
      members(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { role user { id email firstName lastName } } }
      }
    }
  }
`;

// Only the role comes back: the person's name and email are read with the list afterwards,
// once the server counts them among the site's people.
export const ADD_SITE_MEMBER_BY_EMAIL = gql`
  mutation AddSiteMemberByEmail($siteId: ID!, $email: String!, $role: SiteRole!) {
    addSiteMemberByEmail(siteId: $siteId, email: $email, role: $role) { role }
  }
`;

export const SET_SITE_MEMBER = gql`
  mutation SetSiteMember($siteId: ID!, $userId: ID!, $role: SiteRole!) {
    setSiteMember(siteId: $siteId, userId: $userId, role: $role) { role }
  }
`;

export const REMOVE_SITE_MEMBER = gql`
  mutation RemoveSiteMember($siteId: ID!, $userId: ID!) { removeSiteMember(siteId: $siteId, userId: $userId) }
`;
