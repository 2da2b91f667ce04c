/** The live load of a site's areas (per phase, against their limit), polled while shown.
 *
 * Meter values arrive every few seconds per session, and there is no area-wide subscription:
 * one query for the whole site every POLL_MS is cheaper than one subscription per session. All
 * the area cards of a site share one poller; it stops when the last one is gone, and skips its
 * turn while the tab is hidden. */
import { gql } from "@urql/core";
import { query } from "./graphql/client";
import { errorText, type Translate } from "./graphql/errors";

export const POLL_MS = 4000;

export interface AreaLoadData {
  /** Amps on L1, L2, L3. */
  perPhaseA: number[];
  limitPerPhaseA: number;
  activeSessions: number;
}

export const SITE_AREA_LOADS = gql`
  query SiteAreaLoads($id: ID!) {
    site(id: $id) { id siteAreas { id load { perPhaseA limitPerPhaseA activeSessions } } }
  }
`;
type Data = { site: { id: string; siteAreas: { id: string; load: AreaLoadData | null }[] } | null };

class SiteLoads {
  loads = $state<Record<string, AreaLoadData | null>>({});
  updatedAt = $state<Date | null>(null);
  error = $state<string | null>(null);
  private users = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;

  constructor(
    private siteId: string,
    private t: Translate,
  ) {}

  private readonly onVisible = () => {
    if (!document.hidden) void this.fetch();
  };

  acquire() {
    if (this.users++ > 0) return;
    void this.fetch();
    this.timer = setInterval(() => {
      if (!document.hidden) void this.fetch();
    }, POLL_MS);
    document.addEventListener("visibilitychange", this.onVisible);
  }

  release() {
    if (--this.users > 0) return;
    clearInterval(this.timer);
    document.removeEventListener("visibilitychange", this.onVisible);
    pollers.delete(this.siteId);
  }

  private async fetch() {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const result = await query<Data>(SITE_AREA_LOADS, { id: this.siteId });
      if (result.error && !result.data?.site) {
        this.error = errorText(result.error, this.t);
        return;
      }
      this.error = null;
      const next: Record<string, AreaLoadData | null> = {};
      for (const area of result.data?.site?.siteAreas ?? []) next[area.id] = area.load;
      this.loads = next;
      this.updatedAt = new Date();
    } finally {
      this.inFlight = false;
    }
  }
}

const pollers = new Map<string, SiteLoads>();

/** The shared poller of a site (call `acquire` on mount and `release` on destroy). */
export function siteLoads(siteId: string, t: Translate): SiteLoads {
  let poller = pollers.get(siteId);
  if (!poller) {
    poller = new SiteLoads(siteId, t);
    pollers.set(siteId, poller);
  }
  return poller;
}
