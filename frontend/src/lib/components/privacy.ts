import { query } from "../graphql/client";
import { PRIVACY_POLICY } from "../graphql/operations";
import type { CombinedError } from "@urql/core";

export interface PrivacyPolicy {
  version: string;
  text: string;
}

export async function loadPrivacyPolicy(): Promise<{ policy: PrivacyPolicy | null; error?: CombinedError }> {
  const result = await query<{ privacyPolicy: PrivacyPolicy }>(PRIVACY_POLICY);
  return { policy: result.data?.privacyPolicy ?? null, error: result.error };
}
