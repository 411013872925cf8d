import type { ModelUse, RunView } from '../types';
import { NotForDiagnosis } from './Badges';

export function Findings({ runs, models }: { runs: RunView[]; models: ModelUse[] }) {
  const shown = runs.filter((r) => r.status !== 'running');
  return (
    <section aria-labelledby="findings-title">
      <h2 id="findings-title">AI findings</h2>
      {shown.length === 0 && <p>No AI result yet.</p>}
      {shown.map((run) => {
        const card = models.find((m) => m.name === run.model_name && m.version === run.model_version);
        return (
          <div key={run.run_id} className="run">
            <h3>
              {run.model_name} {run.model_version} {run.not_for_diagnosis && <NotForDiagnosis />}
            </h3>
            {card !== undefined && (
              <p className="intended" data-testid="intended-use">
                <strong>Intended use:</strong> {card.intended_use}
              </p>
            )}
            {run.status === 'failed' ? (
              <p className="error">Inference failed: {run.reason_code ?? 'unknown reason'}</p>
            ) : (
              <table className="findings">
                <thead>
                  <tr>
                    <th scope="col">Finding</th>
                    <th scope="col">Probability</th>
                    <th scope="col">Threshold</th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {run.findings.map((f) => (
                    <tr key={`${f.label}-${f.sop_uid ?? ''}`}>
                      <th scope="row">{f.label}</th>
                      <td>{(f.probability * 100).toFixed(1)}%</td>
                      <td>{f.threshold === null ? '—' : `${(f.threshold * 100).toFixed(1)}%`}</td>
                      <td>
                        <span className={f.positive ? 'flag flag-positive' : 'flag flag-negative'}>
                          {f.positive ? 'positive' : 'negative'}
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </section>
  );
}
