export function NotForDiagnosis() {
  return (
    <strong className="badge-nfd" title="The model card says its output is not for diagnostic use">
      Not for diagnostic use
    </strong>
  );
}
