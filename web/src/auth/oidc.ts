// The hospital's provider: Authorization Code with PKCE, refresh and logout (oidc-client-ts).

import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import type { AuthConfig } from './session';

export const CALLBACK_PATH = '/callback';

export function userManager(config: AuthConfig): UserManager {
  const origin = window.location.origin;
  return new UserManager({
    authority: config.authority,
    client_id: config.client_id,
    redirect_uri: origin + CALLBACK_PATH,
    post_logout_redirect_uri: origin + '/',
    response_type: 'code', // PKCE is the library's default for the code flow
    scope: 'openid profile',
    automaticSilentRenew: true, // with the refresh token, before the access token expires
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

export async function currentUser(manager: UserManager): Promise<User | null> {
  if (window.location.pathname === CALLBACK_PATH) {
    const user = await manager.signinRedirectCallback();
    window.history.replaceState(null, '', '/');
    return user;
  }
  const user = await manager.getUser();
  return user !== null && !user.expired ? user : null;
}
