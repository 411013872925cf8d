import { useCallback, useEffect, useMemo, useState } from 'react';
import { WORKLIST, type Api } from '../api';
import { Link } from '../router';
import type { ReportDetail, StudyDetail } from '../types';
import { REPORTS } from '../api';
import { AuditPanel } from '../audit/AuditPanel';
import { NotForDiagnosis } from './Badges';
import { Findings } from './Findings';
import { ReportPanel } from './ReportPanel';
import { Viewer, type Heatmap } from './Viewer';

interface Props {
  api: Api;
  studyUid: string;
  mayRead: (permission: string) => boolean;
}

const VIEWABLE = new Set(['CR', 'DX', 'CT', 'MR', 'US', 'MG']);

export function StudyPage({ api, studyUid, mayRead }: Props) {
  const [detail, setDetail] = useState<StudyDetail | null>(null);
  const [report, setReport] = useState<ReportDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [seriesUid, setSeriesUid] = useState<string | null>(null);
  const [showHeatmap, setShowHeatmap] = useState(false);
  const [opacity, setOpacity] = useState(0.6);
  const [label, setLabel] = useState<string | null>(null);

  const [loads, setLoads] = useState(0);
  const reload = useCallback(() => {
    setLoads((n) => n + 1);
    return Promise.resolve();
  }, []);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const study = await api.json<StudyDetail>(`${WORKLIST}/studies/${studyUid}`);
        const id = study.study.report_id;
        const found =
          id !== null && mayRead('reports:read')
            ? await api.json<ReportDetail>(`${REPORTS}/reports/${id}`)
            : null;
        if (!live) return;
        setDetail(study);
        setReport(found);
      } catch (failure) {
        if (live) setError(failure instanceof Error ? failure.message : String(failure));
      }
    })();
    return () => {
      live = false;
    };
  }, [api, studyUid, mayRead, loads]);

  const viewable = useMemo(
    () => detail?.series.filter((s) => VIEWABLE.has(s.modality) && s.instances.some((i) => i.rows !== null)) ?? [],
    [detail],
  );
  const series = viewable.find((s) => s.series_uid === seriesUid) ?? viewable[0] ?? null;
  const heatmaps = useMemo(() => {
    const found: Heatmap[] = [];
    for (const run of detail?.runs ?? []) {
      if (run.status !== 'completed' || run.series_uid !== series?.series_uid) continue;
      for (const f of run.findings) {
        if (f.heatmap_key !== null && f.sop_uid !== null) found.push({ sopUid: f.sop_uid, label: f.label });
      }
    }
    return found;
  }, [detail, series]);
  const heatmap = heatmaps.find((h) => h.label === label) ?? heatmaps[0] ?? null;

  if (error !== null) {
    return (
      <main id="main">
        <p role="alert" className="error">{error}</p>
        <Link href="/">Back to the worklist</Link>
      </main>
    );
  }
  if (detail === null) return <main id="main"><p>Loading the study…</p></main>;
  const study = detail.study;
  const notForDiagnosis = detail.runs.some((r) => r.status === 'completed' && r.not_for_diagnosis);

  return (
    <main id="main" className="study">
      <div className="study-head">
        <h1>
          {(study.patient_name ?? '(no name)').replaceAll('^', ' ')}{' '}
          <span className="muted">{study.patient_id ?? ''}</span>
        </h1>
        <p>
          {study.study_description ?? ''} · {study.modalities.join(', ')} · {study.study_date ?? ''} ·
          accession {study.accession_number ?? '—'} · <span className={`state state-${study.state}`}>{study.state}</span>
          {notForDiagnosis && <> <NotForDiagnosis /></>}
        </p>
        <p>
          <a className="button" href={`/viewer/viewer?StudyInstanceUIDs=${encodeURIComponent(study.study_uid)}`}>
            Open in OHIF
          </a>{' '}
          <Link href="/">Back to the worklist</Link>
        </p>
      </div>
      <div className="study-body">
        <div className="study-images">
          {viewable.length > 1 && (
            <label>
              Series{' '}
              <select value={series?.series_uid ?? ''} onChange={(e) => { setSeriesUid(e.target.value); }}>
                {viewable.map((s) => (
                  <option key={s.series_uid} value={s.series_uid}>
                    {s.modality} {s.series_number ?? ''} {s.description ?? ''}
                  </option>
                ))}
              </select>
            </label>
          )}
          {series !== null ? (
            <Viewer api={api} studyUid={study.study_uid} series={series} heatmap={heatmap} showHeatmap={showHeatmap} opacity={opacity} />
          ) : (
            <p>No series with images.</p>
          )}
          {heatmap !== null && (
            <fieldset className="heatmap-controls">
              <legend>AI heatmap</legend>
              <label className="check">
                <input type="checkbox" checked={showHeatmap} onChange={(e) => { setShowHeatmap(e.target.checked); }} />
                Show heatmap
              </label>
              {heatmaps.length > 1 && (
                <label>
                  Finding{' '}
                  <select value={heatmap.label} onChange={(e) => { setLabel(e.target.value); }}>
                    {heatmaps.map((h) => <option key={h.label}>{h.label}</option>)}
                  </select>
                </label>
              )}
              <label>
                Opacity{' '}
                <input type="range" min={0.1} max={1} step={0.05} value={opacity} onChange={(e) => { setOpacity(Number(e.target.value)); }} />{' '}
                {Math.round(opacity * 100)}%
              </label>
              <p className="note">The heatmap shows where the model looked, not a diagnosis.</p>
            </fieldset>
          )}
        </div>
        <aside className="study-side" aria-label="Findings and report">
          <Findings runs={detail.runs} models={report?.current.models ?? []} />
          {report !== null ? (
            <ReportPanel
              key={`${report.report.report_id}-${report.report.current_version}`}
              api={api}
              detail={report} maySign={mayRead('reports:sign')} mayAmend={mayRead('reports:amend')} onChanged={reload} />
          ) : (
            <section aria-labelledby="report-title">
              <h2 id="report-title">Report</h2>
              <p>{mayRead('reports:read') ? 'No report yet.' : 'Your roles do not include reading reports.'}</p>
            </section>
          )}
          {mayRead('audit:read') && <AuditPanel api={api} studyUid={study.study_uid} />}
        </aside>
      </div>
    </main>
  );
}
