import { gql } from "@urql/core";

// ---------- fragments ----------
export const USER_FIELDS = gql`
  fragment UserFields on User {
    id
    email
    firstName
    lastName
    phone
    mobile
    language
    pictureUrl
    address { street postalCode city region country }
    professionalId
    costCenter
    company
    department
    role
    status
    emailVerified
    lastLoginAt
    createdAt
  }
`;

const STATION_FIELDS = gql`
  fragment StationFields on ChargingStation {
    id
    ocppIdentity
    description
    vendor
    model
    # Technical details are for the site's managers: drivers don't ask for them.
    serialNumber @include(if: $manager)
    firmwareVersion @include(if: $manager)
    ocppVersion @include(if: $manager)
    registrationStatus @include(if: $manager)
    lastSeenAt @include(if: $manager)
    lenient @include(if: $manager)
    online
    siteArea { id }
    connectors { id connectorId evseId type maxPowerW phases status errorCode }
  }
`;

const SITE_AREA_FIELDS = gql`
  fragment SiteAreaFields on SiteArea {
    id
    name
    maxPowerW
    phases
    voltage
    accessControl
    smartCharging
    parentAreaId
  }
`;

const VEHICLE_FIELDS = gql`
  fragment VehicleFields on Vehicle {
    id plate vin make model batteryCapacityWh maxAcPowerW maxDcPowerW acPhases isDefault
  }
`;

// ---------- session ----------
export const ME = gql`
  query Me {
    me {
      ...UserFields
      siteMemberships { role site { id name } }
    }
  }
  ${USER_FIELDS}
`;

export const PRIVACY_POLICY = gql`
  query PrivacyPolicy { privacyPolicy { version text } }
`;

export const LOG_IN = gql`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) { expiresAt user { id } }
  }
`;

export const LOG_OUT = gql`mutation LogOut { logOut }`;
export const SIGN_UP = gql`mutation SignUp($input: SignUpInput!) { signUp(input: $input) }`;
export const VERIFY_EMAIL = gql`mutation VerifyEmail($token: String!) { verifyEmail(token: $token) }`;
export const REQUEST_PASSWORD_RESET = gql`
  mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }
`;
export const RESET_PASSWORD = gql`
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword)
  }
`;
export const CHANGE_PASSWORD = gql`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`;

// ---------- profile / users ----------
export const UPDATE_PROFILE = gql`
  mutation UpdateProfile($input: ProfileInput!, $userId: ID) {
    updateProfile(input: $input, userId: $userId) { ...UserFields }
  }
  ${USER_FIELDS}
`;

export const UPDATE_LANGUAGE = gql`
  mutation UpdateLanguage($language: Language!) {
    updateProfile(input: { language: $language }) { id language }
  }
`;

export const UPLOAD_PICTURE = gql`
  mutation UploadPicture($file: Upload!, $userId: ID) {
    uploadPicture(file: $file, userId: $userId) { id pictureUrl }
  }
`;

export const REMOVE_PICTURE = gql`
  mutation RemovePicture($userId: ID) { removePicture(userId: $userId) { id pictureUrl } }
`;

export const USERS = gql`
  query Users($first: Int, $after: String, $filter: UserFilter, $orderBy: UserOrder) {
    users(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id email firstName lastName role status lastLoginAt } }
    }
  }
`;

export const USER = gql`
  query User($id: ID!) { user(id: $id) { ...UserFields } }
  ${USER_FIELDS}
`;

export const CREATE_USER = gql`
  mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { id } }
`;

export const UPDATE_USER = gql`
  mutation UpdateUser($id: ID!, $input: UserAdminInput!) {
    updateUser(id: $id, input: $input) { ...UserFields }
  }
  ${USER_FIELDS}
`;

// ---------- RFID cards ----------
export const RFID_CARDS = gql`
  query RfidCards($userId: ID, $after: String) {
    rfidCards(userId: $userId, first: 50, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id uid description active createdAt } }
    }
  }
`;
export const ADD_RFID_CARD = gql`
  mutation AddRfidCard($input: RfidCardInput!) { addRfidCard(input: $input) { id } }
`;
export const SET_RFID_CARD_ACTIVE = gql`
  mutation SetRfidCardActive($id: ID!, $active: Boolean!) {
    setRfidCardActive(id: $id, active: $active) { id active }
  }
`;
export const DELETE_RFID_CARD = gql`mutation DeleteRfidCard($id: ID!) { deleteRfidCard(id: $id) }`;

// ---------- vehicles ----------
export const VEHICLES = gql`
  query Vehicles($userId: ID, $after: String) {
    vehicles(userId: $userId, first: 50, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...VehicleFields } }
    }
  }
  ${VEHICLE_FIELDS}
`;
export const CREATE_VEHICLE = gql`
  mutation CreateVehicle($input: VehicleInput!, $userId: ID) {
    createVehicle(input: $input, userId: $userId) { ...VehicleFields }
  }
  ${VEHICLE_FIELDS}
`;
export const UPDATE_VEHICLE = gql`
  mutation UpdateVehicle($id: ID!, $input: VehicleInput!) {
    updateVehicle(id: $id, input: $input) { ...VehicleFields }
  }
  ${VEHICLE_FIELDS}
`;
export const DELETE_VEHICLE = gql`mutation DeleteVehicle($id: ID!) { deleteVehicle(id: $id) }`;
export const SET_DEFAULT_VEHICLE = gql`
  mutation SetDefaultVehicle($id: ID!) { setDefaultVehicle(id: $id) { id isDefault } }
`;

// ---------- sites ----------
export const SITES = gql`
  query Sites($after: String, $filter: SiteFilter) {
    sites(first: 20, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id name address { city } stationCount siteAreas { id } } }
    }
  }
`;
export const SITE = gql`
  query Site($id: ID!, $manager: Boolean!) {
    site(id: $id) {
      id
      name
      address { street postalCode city region country }
      latitude
      longitude
      timezone
      stationCount
      siteAreas { ...SiteAreaFields stations { ...StationFields } }
    }
  }
  ${SITE_AREA_FIELDS}
  ${STATION_FIELDS}
`;
export const CREATE_SITE = gql`mutation CreateSite($input: SiteInput!) { createSite(input: $input) { id } }`;
export const UPDATE_SITE = gql`
  mutation UpdateSite($id: ID!, $input: SiteInput!) { updateSite(id: $id, input: $input) { id } }
`;
export const DELETE_SITE = gql`mutation DeleteSite($id: ID!) { deleteSite(id: $id) }`;
export const CREATE_SITE_AREA = gql`
  mutation CreateSiteArea($input: SiteAreaInput!) { createSiteArea(input: $input) { id parentAreaId } }
`;
export const UPDATE_SITE_AREA = gql`
  mutation UpdateSiteArea($id: ID!, $input: SiteAreaInput!) {
    updateSiteArea(id: $id, input: $input) { id parentAreaId }
  }
`;
export const DELETE_SITE_AREA = gql`mutation DeleteSiteArea($id: ID!) { deleteSiteArea(id: $id) }`;
export const CREATE_STATION = gql`
  mutation CreateStation($input: StationInput!) { createStation(input: $input) { id } }
`;
export const UPDATE_STATION = gql`
  mutation UpdateStation($id: ID!, $input: StationInput!) { updateStation(id: $id, input: $input) { id } }
`;
export const DELETE_STATION = gql`mutation DeleteStation($id: ID!) { deleteStation(id: $id) }`;
