import { useEffect, useState } from 'react';
import { REPORTS, type Api } from '../api';
import type { ReportDetail } from '../types';

interface Props {
  api: Api;
  detail: ReportDetail;
  maySign: boolean;
  mayAmend: boolean;
  onChanged: () => Promise<void>;
}

export function ReportPanel({ api, detail, maySign, mayAmend, onChanged }: Props) {
  const { report, versions, current } = detail;
  const [shown, setShown] = useState(report.current_version);
  const [html, setHtml] = useState<string | null>(null);
  const [impression, setImpression] = useState(current.impression);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const preliminary = report.status === 'preliminary';
  const signable = maySign && preliminary;
  const amendable = mayAmend && !preliminary;

  useEffect(() => {
    let live = true;
    const link = versions.find((v) => v.version === shown)?.links.html;
    if (link === undefined) return;
    void (async () => {
      try {
        const page = await api.text(link);
        if (live) setHtml(page);
      } catch (failure) {
        if (live) setHtml(`<p>The report cannot be shown: ${String(failure)}</p>`);
      }
    })();
    return () => {
      live = false;
    };
  }, [api, versions, shown]);

  const send = async (action: 'sign' | 'amend') => {
    setBusy(true);
    setMessage(null);
    try {
      const body =
        action === 'sign'
          ? { version: report.current_version, impression }
          : { version: report.current_version, impression, reason };
      await api.json(`${REPORTS}/reports/${report.report_id}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      setMessage({ text: action === 'sign' ? 'Signed.' : 'Amended.', error: false });
      setReason('');
      await onChanged();
    } catch (failure) {
      setMessage({ text: failure instanceof Error ? failure.message : String(failure), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="report-title" className="report">
      <h2 id="report-title">
        Report <span className={`status status-${report.status}`} data-testid="report-state">{report.status}</span>
      </h2>
      {report.signed_by !== null && (
        <p>
          Signed by {report.signed_by} {report.signed_at !== null && `at ${new Date(report.signed_at).toLocaleString()}`}
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void send(signable ? 'sign' : 'amend');
        }}
      >
        <label htmlFor="impression">Impression</label>
        <textarea
          id="impression"
          rows={5}
          value={impression}
          readOnly={!signable && !amendable}
          onChange={(event) => {
            setImpression(event.target.value);
          }}
        />
        {amendable && (
          <>
            <label htmlFor="amend-reason">Reason for the amendment</label>
            <textarea
              id="amend-reason"
              rows={2}
              required
              value={reason}
              onChange={(event) => {
                setReason(event.target.value);
              }}
            />
          </>
        )}
        {signable && (
          <button type="submit" disabled={busy || impression.trim() === ''}>
            Sign report
          </button>
        )}
        {amendable && (
          <button type="submit" disabled={busy || reason.trim() === '' || impression.trim() === ''}>
            Amend report
          </button>
        )}
        {message !== null && (
          <p role={message.error ? 'alert' : 'status'} className={message.error ? 'error' : 'ok'}>
            {message.text}
          </p>
        )}
      </form>
      <h3>Versions</h3>
      <ol className="versions" data-testid="versions">
        {versions.map((v) => (
          <li key={v.version}>
            <button type="button" aria-pressed={v.version === shown} onClick={() => { setShown(v.version); }}>
              Version {v.version}: {v.status}
            </button>{' '}
            by {v.author}
            {v.author_role !== null && ` (${v.author_role})`}, {new Date(v.created_at).toLocaleString()}
            {v.reason !== null && ` — ${v.reason}`}
          </li>
        ))}
      </ol>
      <h3>Preview of version {shown}</h3>
      {html === null ? (
        <p>Loading the preview…</p>
      ) : (
        <iframe className="preview" title={`Report version ${shown}`} sandbox="" srcDoc={html} />
      )}
    </section>
  );
}
