import { useState, type FormEvent } from 'react';
import type { AuthConfig } from './session';

interface Props {
  config: AuthConfig;
  onLocalLogin: (user: string, roles: string[]) => Promise<void>;
  onProviderLogin: () => Promise<void>;
}

export function LoginPage({ config, onLocalLogin, onProviderLogin }: Props) {
  const [user, setUser] = useState('');
  const [roles, setRoles] = useState<string[]>(['radiologist']);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (config.mode === 'local') await onLocalLogin(user.trim(), roles);
      else await onProviderLogin();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  const toggle = (role: string) => {
    setRoles((now) => (now.includes(role) ? now.filter((r) => r !== role) : [...now, role]));
  };

  return (
    <main className="login" aria-labelledby="login-title">
      <h1 id="login-title">Acme Imaging</h1>
      <form
        onSubmit={(event) => {
          void submit(event);
        }}
      >
        {config.mode === 'local' ? (
          <>
            <p className="note">
              Local development: the platform is its own token issuer. Pick a user and roles.
            </p>
            <label htmlFor="login-user">User</label>
            <input
              id="login-user"
              name="user"
              autoComplete="username"
              required
              pattern="[A-Za-z0-9._@\-]+"
              value={user}
              onChange={(event) => {
                setUser(event.target.value);
              }}
            />
            <fieldset>
              <legend>Roles</legend>
              {config.roles.map((role) => (
                <label key={role} className="check">
                  <input
                    type="checkbox"
                    name="role"
                    value={role}
                    checked={roles.includes(role)}
                    onChange={() => {
                      toggle(role);
                    }}
                  />
                  {role}
                </label>
              ))}
            </fieldset>
            <button type="submit" disabled={busy || roles.length === 0 || user.trim() === ''}>
              Log in
            </button>
          </>
        ) : (
          <button type="submit" disabled={busy}>
            Log in with the hospital account
          </button>
        )}
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
