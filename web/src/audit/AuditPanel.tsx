import { useEffect, useState } from 'react';
import { AUDIT, type Api } from '../api';
import type { AuditRecord, AuditRecords } from '../types';

export function describe(record: AuditRecord): string {
  const type = record.type.replace('org.acme.imaging.', '');
  const data = record.data as Record<string, unknown> | null;
  const action = data !== null && typeof data === 'object' && typeof data.action === 'string' ? data.action : null;
  const outcome = data !== null && typeof data === 'object' && typeof data.outcome === 'string' ? data.outcome : null;
  return [type, action, outcome].filter((p) => p !== null).join(' · ');
}

export function AuditTable({ records }: { records: AuditRecord[] }) {
  return (
    <table className="list audit" data-testid="audit">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.id} data-type={r.type}>
            <td>{r.id}</td>
            <td>{new Date(r.occurred_at ?? r.recorded_at).toLocaleString()}</td>
            <td>{r.actor ?? ''}</td>
            <td>{describe(r)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function useAudit(api: Api, study: string | null): { records: AuditRecord[] | null; error: string | null } {
  const [records, setRecords] = useState<AuditRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const query = new URLSearchParams({ limit: '200' });
    if (study !== null && study !== '') query.set('study', study);
    void (async () => {
      try {
        const page = await api.json<AuditRecords>(`${AUDIT}/records?${query.toString()}`);
        if (live) setRecords(page.records);
      } catch (failure) {
        if (live) setError(failure instanceof Error ? failure.message : String(failure));
      }
    })();
    return () => {
      live = false;
    };
  }, [api, study]);
  return { records, error };
}

export function AuditPanel({ api, studyUid }: { api: Api; studyUid: string }) {
  const { records, error } = useAudit(api, studyUid);
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      {error !== null && <p role="alert" className="error">{error}</p>}
      {records === null ? <p>Loading…</p> : <AuditTable records={records} />}
    </section>
  );
}
