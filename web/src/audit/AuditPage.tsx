import { useState, type FormEvent } from 'react';
import type { Api } from '../api';
import { navigate } from '../router';
import { AuditTable, useAudit } from './AuditPanel';

export function AuditPage({ api, study }: { api: Api; study: string | null }) {
  const [wanted, setWanted] = useState(study ?? '');
  const { records, error } = useAudit(api, study);
  const search = (event: FormEvent) => {
    event.preventDefault();
    const uid = wanted.trim();
    navigate(uid === '' ? '/audit' : `/audit?study=${encodeURIComponent(uid)}`);
  };
  return (
    <main id="main" className="audit-page">
      <h1>Audit trail</h1>
      <form className="filters" onSubmit={search}>
        <label>
          Study Instance UID
          <input
            value={wanted}
            pattern="[0-9.]*"
            onChange={(event) => {
              setWanted(event.target.value);
            }}
          />
        </label>
        <button type="submit">Show</button>
      </form>
      {error !== null && <p role="alert" className="error">{error}</p>}
      {records === null ? <p>Loading…</p> : <AuditTable records={records} />}
    </main>
  );
}
