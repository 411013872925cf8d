// Who is logged in: the bearer token, and the user and roles it names.
//
// The token lives in this tab's sessionStorage (and in memory): a reload keeps the login,
// closing the tab ends it, other sites and other tabs never see it. OHIF, served from the
// same origin, reads the same key (web/ohif/app-config.js).

export interface AuthConfig {
  mode: 'local' | 'oidc';
  authority: string;
  client_id: string;
  audience: string;
  roles_claim: string;
  roles: string[];
  permissions: Record<string, string[]>;
}

export interface Session {
  token: string;
  user: string;
  roles: string[];
  expiresAt: number;
}

export const SESSION_KEY = 'acme.session';

export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (part === undefined) throw new Error('not a JWT');
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function at(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const name of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

export function sessionOf(token: string, config: AuthConfig): Session {
  const claims = claimsOf(token);
  const raw = at(claims, config.roles_claim);
  const listed = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
  const roles = listed.filter((r): r is string => typeof r === 'string' && config.roles.includes(r));
  const name = claims.preferred_username ?? claims.sub;
  const exp = typeof claims.exp === 'number' ? claims.exp : 0;
  return { token, user: typeof name === 'string' ? name : '?', roles, expiresAt: exp * 1000 };
}

export function storeSession(session: Session | null): void {
  if (session === null) sessionStorage.removeItem(SESSION_KEY);
  else sessionStorage.setItem(SESSION_KEY, JSON.stringify({ access_token: session.token }));
}

export function storedSession(config: AuthConfig): Session | null {
  const text = sessionStorage.getItem(SESSION_KEY);
  if (text === null) return null;
  try {
    const { access_token } = JSON.parse(text) as { access_token?: string };
    if (typeof access_token !== 'string') return null;
    const session = sessionOf(access_token, config);
    return session.expiresAt > Date.now() ? session : null;
  } catch {
    sessionStorage.removeItem(SESSION_KEY); // unreadable: start again at the login
    return null;
  }
}

export function can(session: Session, config: AuthConfig, permission: string): boolean {
  return session.roles.some((role) => config.permissions[role]?.includes(permission) ?? false);
}

export async function loadConfig(): Promise<AuthConfig> {
  const answer = await fetch('/auth/config');
  if (!answer.ok) throw new Error(`the login configuration is unavailable (${answer.status})`);
  return (await answer.json()) as AuthConfig;
}

export async function localLogin(user: string, roles: string[]): Promise<string> {
  const answer = await fetch('/auth/local/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, roles }),
  });
  const body = (await answer.json()) as { access_token?: string; detail?: string };
  if (!answer.ok || body.access_token === undefined) {
    throw new Error(body.detail ?? `login refused (${answer.status})`);
  }
  return body.access_token;
}
