// The JSON of the platform's HTTP functions, as the SPA reads it (worklist, report, audit).

export type StudyState = string;
export type AiFlag = 'positive' | 'negative' | 'none';

export interface TopFinding {
  label: string;
  probability: number;
  positive: boolean;
}

export interface WorklistItem {
  study_uid: string;
  patient_name: string | null;
  patient_id: string | null;
  accession_number: string | null;
  study_date: string | null;
  study_description: string | null;
  modalities: string[];
  state: StudyState;
  failure_reason: string | null;
  series: number;
  instances: number;
  ai: AiFlag;
  positive_labels: string[];
  top_finding: TopFinding | null;
  not_for_diagnosis: boolean;
  report_id: string | null;
  report_status: string | null;
  received_at: string;
  updated_at: string;
}

export interface WorklistPage {
  items: WorklistItem[];
  total: number;
  limit: number;
  offset: number;
}

export interface InstanceView {
  sop_uid: string;
  sop_class_uid: string;
  instance_number: number | null;
  rows: number | null;
  columns: number | null;
  frames: number;
  transfer_syntax: string;
}

export interface SeriesView {
  series_uid: string;
  modality: string;
  body_part: string | null;
  series_number: number | null;
  description: string | null;
  pipeline: string | null;
  outcome: 'completed' | 'failed' | 'pending' | null;
  instances: InstanceView[];
}

export interface Finding {
  label: string;
  probability: number;
  threshold: number | null;
  positive: boolean;
  sop_uid: string | null;
  heatmap_key: string | null;
}

export interface RunView {
  run_id: string;
  series_uid: string;
  pipeline: string;
  model_name: string;
  model_version: string;
  status: 'running' | 'completed' | 'failed';
  reason_code: string | null;
  not_for_diagnosis: boolean;
  findings: Finding[];
}

export interface StudyDetail {
  study: WorklistItem;
  series: SeriesView[];
  runs: RunView[];
  patient_conflicts: string[];
}

export interface ModelUse {
  name: string;
  version: string;
  intended_use: string;
  diagnostic_use: boolean;
}

export interface Signature {
  user: string;
  role: string;
  name: string;
  at: string;
}

export interface ReportContent {
  report_id: string;
  version: number;
  status: string;
  models: ModelUse[];
  impression: string;
  signature: Signature | null;
  amendment_reason: string | null;
}

export interface VersionSummary {
  version: number;
  status: string;
  author: string;
  author_role: string | null;
  reason: string | null;
  created_at: string;
  links: Record<string, string>;
}

export interface ReportSummary {
  report_id: string;
  study_uid: string;
  status: string;
  current_version: number;
  signed_by: string | null;
  signed_at: string | null;
}

export interface ReportDetail {
  report: ReportSummary;
  versions: VersionSummary[];
  current: ReportContent;
}

export interface AuditRecord {
  id: number;
  type: string;
  occurred_at: string | null;
  recorded_at: string;
  study_uid: string | null;
  actor: string | null;
  data: unknown;
}

export interface AuditRecords {
  records: AuditRecord[];
  next_cursor: number | null;
}
