import { useCallback, useEffect, useMemo, useState } from 'react';
import type { UserManager } from 'oidc-client-ts';
import { makeApi } from './api';
import { AuditPage } from './audit/AuditPage';
import { LoginPage } from './auth/LoginPage';
import { currentUser, userManager } from './auth/oidc';
import {
  can,
  loadConfig,
  localLogin,
  sessionOf,
  storeSession,
  storedSession,
  type AuthConfig,
  type Session,
} from './auth/session';
import { Link, navigate, useLocation } from './router';
import { StudyPage } from './study/StudyPage';
import { WorklistPage } from './worklist/WorklistPage';

export function App() {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [manager, setManager] = useState<UserManager | null>(null);
  const location = useLocation();

  const adopt = useCallback((token: string | null, settings: AuthConfig) => {
    const next = token === null ? null : sessionOf(token, settings);
    storeSession(next);
    setSession(next);
  }, []);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const settings = await loadConfig();
        if (!live) return;
        setConfig(settings);
        if (settings.mode === 'local') {
          setSession(storedSession(settings));
          return;
        }
        const oidc = userManager(settings);
        setManager(oidc);
        oidc.events.addUserLoaded((user) => {
          adopt(user.access_token, settings); // a refreshed token replaces the old one
        });
        oidc.events.addUserSignedOut(() => {
          adopt(null, settings);
        });
        const user = await currentUser(oidc);
        if (live) adopt(user?.access_token ?? null, settings);
      } catch (error) {
        if (live) setFailure(error instanceof Error ? error.message : String(error));
      }
    })();
    return () => {
      live = false;
    };
  }, [adopt]);

  const logout = useCallback(() => {
    if (config !== null) adopt(null, config);
    if (manager !== null) void manager.signoutRedirect();
    else navigate('/');
  }, [adopt, config, manager]);

  const api = useMemo(
    () =>
      makeApi(
        () => session?.token ?? '',
        () => {
          if (config !== null) adopt(null, config);
        },
      ),
    [session, config, adopt],
  );

  const mayRead = useCallback(
    (permission: string) => session !== null && config !== null && can(session, config, permission),
    [session, config],
  );

  if (failure !== null) {
    return (
      <main className="login">
        <h1>Acme Imaging</h1>
        <p role="alert" className="error">
          {failure}
        </p>
      </main>
    );
  }
  if (config === null) return <p className="loading">Loading…</p>;
  if (session === null) {
    return (
      <LoginPage
        config={config}
        onLocalLogin={async (user, roles) => {
          adopt(await localLogin(user, roles), config);
        }}
        onProviderLogin={async () => {
          await manager?.signinRedirect();
        }}
      />
    );
  }

  const readsStudies = can(session, config, 'studies:read');
  const readsAudit = can(session, config, 'audit:read');
  const path = location.pathname;
  let page;
  if (path.startsWith('/study/') && readsStudies) {
    page = (
      <StudyPage
        api={api}
        studyUid={decodeURIComponent(path.slice('/study/'.length))}
        mayRead={mayRead}
      />
    );
  } else if (path === '/audit' && readsAudit) {
    page = <AuditPage api={api} study={location.searchParams.get('study')} />;
  } else if (readsStudies) {
    page = <WorklistPage api={api} />;
  } else if (readsAudit) {
    page = <AuditPage api={api} study={location.searchParams.get('study')} />;
  } else {
    page = (
      <main id="main">
        <p>Your roles ({session.roles.join(', ') || 'none'}) open nothing here.</p>
      </main>
    );
  }
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="bar">
        <span className="brand">Acme Imaging</span>
        <nav aria-label="Main">
          {readsStudies && <Link href="/">Worklist</Link>}
          {readsAudit && <Link href="/audit">Audit trail</Link>}
        </nav>
        <span className="who" data-testid="who">
          {session.user} · {session.roles.join(', ')}
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      {page}
    </>
  );
}
