/** Live instant power of the sessions shown on a page: one sessionCurve subscription per session. */
import { SESSION_CURVE } from "./graphql/charging";
import { subscribe, type LiveStation, type SessionCurveEvent } from "./charging";

const MAX_FOLLOWED = 40;

export class LiveSessions {
  private followed = new Map<string, () => void>();
  /** Sessions the server refused to stream to us (site managers): not retried. */
  private refused = new Set<string>();

  constructor(private stations: () => LiveStation[]) {
    $effect(() => {
      const wanted = new Set<string>();
      for (const station of this.stations())
        for (const c of station.connectors) if (c.currentSession && wanted.size < MAX_FOLLOWED) wanted.add(c.currentSession.id);
      this.sync(wanted);
    });
  }

  private sync(wanted: Set<string>) {
    for (const [id, stop] of this.followed) {
      if (!wanted.has(id)) {
        stop();
        this.followed.delete(id);
      }
    }
    for (const id of wanted) {
      if (this.followed.has(id) || this.refused.has(id)) continue;
      const stop = subscribe<{ sessionCurve: SessionCurveEvent }>(
        SESSION_CURVE,
        { sessionId: id },
        (data) => this.apply(data.sessionCurve),
        () => {
          this.refused.add(id);
          this.followed.get(id)?.();
          this.followed.delete(id);
        },
      );
      this.followed.set(id, stop);
    }
  }

  private apply(event: SessionCurveEvent) {
    for (const station of this.stations()) {
      for (const c of station.connectors) {
        const current = c.currentSession;
        if (!current || current.id !== event.sessionId) continue;
        if (event.kind === "stopped") {
          c.currentSession = null;
          continue;
        }
        if (event.instantPowerW !== null) current.instantPowerW = event.instantPowerW;
        if (event.energyWh !== null) current.energyWh = event.energyWh;
      }
    }
  }

  stop() {
    for (const stop of this.followed.values()) stop();
    this.followed.clear();
  }
}
