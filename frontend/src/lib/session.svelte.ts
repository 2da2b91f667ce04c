import { query, mutate } from "./graphql/client";
import { ME, LOG_OUT, UPDATE_LANGUAGE } from "./graphql/operations";
import type { Me } from "./types";
import { setLanguage, currentLanguage } from "./i18n";

class Session {
  me = $state<Me | null>(null);
  loaded = $state(false);
  /** True when the visitor picked a language before logging in. */
  languageChosen = false;

  isAdmin = $derived(this.me?.role === "ADMIN");
  /** Admins and demo users may list users (demo sees anonymized data). */
  canViewUsers = $derived(this.me?.role === "ADMIN" || this.me?.role === "DEMO");
  /** Admins and demo users read every site, station and session (and who charged). */
  readsEverything = $derived(this.me?.role === "ADMIN" || this.me?.role === "DEMO");
  /** Site admins and owners of at least one site, or readers of everything. */
  managesAny = $derived(
    this.readsEverything ||
      !!this.me?.siteMemberships.some((m) => m.role === "SITE_ADMIN" || m.role === "SITE_OWNER"),
  );

  /** Variables of the charging queries: which guarded fields this viewer may ask for. */
  get liveVars(): { manager: boolean; withUser: boolean } {
    return { manager: this.managesAny, withUser: this.readsEverything || !this.managesAny };
  }

  /** Load `me`; after an explicit log-in, a language picked beforehand wins over the stored one. */
  async refresh({ afterLogin = false } = {}): Promise<Me | null> {
    const result = await query<{ me: Me | null }>(ME);
    this.me = result.data?.me ?? null;
    this.loaded = true;
    if (this.me) {
      if (afterLogin && this.languageChosen && this.me.language !== currentLanguage()) {
        await this.saveLanguage(currentLanguage());
      } else {
        setLanguage(this.me.language);
      }
    }
    return this.me;
  }

  async saveLanguage(language: Me["language"]) {
    setLanguage(language);
    if (!this.me) {
      this.languageChosen = true;
      return;
    }
    this.me.language = language;
    await mutate(UPDATE_LANGUAGE, { language });
  }

  manages(siteId: string): boolean {
    if (this.isAdmin) return true;
    return !!this.me?.siteMemberships.some(
      (m) => m.site.id === siteId && (m.role === "SITE_ADMIN" || m.role === "SITE_OWNER"),
    );
  }

  async logOut() {
    await mutate(LOG_OUT);
    this.me = null;
  }
}

export const session = new Session();
