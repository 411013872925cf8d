import { useEffect, useState } from 'react';
import { WORKLIST, type Api } from '../api';
import { Link } from '../router';
import type { WorklistItem, WorklistPage as Page } from '../types';
import { NotForDiagnosis } from '../study/Badges';

const STATES = ['receiving', 'complete', 'inferring', 'inferred', 'reported', 'signed', 'failed'];
const POLL_MS = 4000;

interface Filters {
  state: string;
  modality: string;
  ai: string;
  q: string;
  date_from: string;
  date_to: string;
}

const NO_FILTERS: Filters = { state: '', modality: '', ai: '', q: '', date_from: '', date_to: '' };

function query(filters: Filters): string {
  const params = new URLSearchParams({ limit: '100' });
  for (const [name, value] of Object.entries(filters) as [string, string][]) {
    if (value.trim() !== '') params.set(name, value.trim());
  }
  return params.toString();
}

// The feed's newest sequence, polled while the page is visible: each move reloads the list.
function useFeedSequence(api: Api): number {
  const [sequence, setSequence] = useState(0);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      if (document.visibilityState !== 'visible') return;
      try {
        const { sequence: now } = await api.json<{ sequence: number }>(`${WORKLIST}/worklist/latest`);
        if (live) setSequence(now);
      } catch {
        // the next poll tries again; the list shows what it last had
      }
    };
    void poll();
    const timer = window.setInterval(() => void poll(), POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [api]);
  return sequence;
}

export function WorklistPage({ api }: { api: Api }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const sequence = useFeedSequence(api);
  const wanted = query(filters);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const answer = await api.json<Page>(`${WORKLIST}/worklist?${wanted}`);
        if (live) {
          setPage(answer);
          setError(null);
        }
      } catch (failure) {
        if (live) setError(failure instanceof Error ? failure.message : String(failure));
      }
    })();
    return () => {
      live = false;
    };
  }, [api, wanted, sequence]); // a new feed sequence: something changed, read the list again

  const set = (name: keyof Filters) => (event: { target: { value: string } }) => {
    setFilters((now) => ({ ...now, [name]: event.target.value }));
  };

  return (
    <main id="main" className="worklist">
      <h1>Worklist</h1>
      <form className="filters" aria-label="Filters" onSubmit={(e) => { e.preventDefault(); }}>
        <label>
          Search
          <input type="search" value={filters.q} onChange={set('q')} placeholder="Name, ID, accession" />
        </label>
        <label>
          State
          <select value={filters.state} onChange={set('state')}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Modality
          <select value={filters.modality} onChange={set('modality')}>
            <option value="">any</option>
            {['CR', 'DX', 'CT'].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          AI
          <select value={filters.ai} onChange={set('ai')}>
            <option value="">any</option>
            <option value="positive">positive finding</option>
            <option value="negative">no positive finding</option>
            <option value="none">no result yet</option>
          </select>
        </label>
        <label>
          From
          <input type="date" value={filters.date_from} onChange={set('date_from')} />
        </label>
        <label>
          To
          <input type="date" value={filters.date_to} onChange={set('date_to')} />
        </label>
        <button type="button" onClick={() => { setFilters(NO_FILTERS); }}>
          Clear
        </button>
      </form>
      {error !== null && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p className="count" aria-live="polite">
        {page === null ? 'Loading…' : `${page.total} ${page.total === 1 ? 'study' : 'studies'}`}
      </p>
      {page !== null && <Table items={page.items} />}
    </main>
  );
}

function Table({ items }: { items: WorklistItem[] }) {
  return (
    <table className="list" data-testid="worklist">
      <thead>
        <tr>
          <th scope="col">Patient</th>
          <th scope="col">Patient ID</th>
          <th scope="col">Accession</th>
          <th scope="col">Date</th>
          <th scope="col">Modality</th>
          <th scope="col">Description</th>
          <th scope="col">State</th>
          <th scope="col">AI</th>
          <th scope="col">Report</th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.study_uid} data-study={item.study_uid} data-state={item.state}>
            <th scope="row">
              <Link href={`/study/${encodeURIComponent(item.study_uid)}`}>
                {(item.patient_name ?? '(no name)').replaceAll('^', ' ')}
              </Link>
            </th>
            <td>{item.patient_id ?? ''}</td>
            <td>{item.accession_number ?? ''}</td>
            <td>{item.study_date ?? ''}</td>
            <td>{item.modalities.join(', ')}</td>
            <td>{item.study_description ?? ''}</td>
            <td>
              <span className={`state state-${item.state}`}>{item.state}</span>
            </td>
            <td>
              <AiCell item={item} />
            </td>
            <td data-testid="report-status">{item.report_status ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AiCell({ item }: { item: WorklistItem }) {
  if (item.ai === 'none') return <span className="muted">no result</span>;
  const top = item.top_finding;
  return (
    <span className="ai">
      <span className={`flag flag-${item.ai}`}>{item.ai === 'positive' ? 'Positive' : 'Negative'}</span>
      {top !== null && (
        <span>
          {' '}
          {top.label} {(top.probability * 100).toFixed(0)}%
        </span>
      )}
      {item.not_for_diagnosis && <NotForDiagnosis />}
    </span>
  );
}
