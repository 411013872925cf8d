-- 0004: reports with FHIR DiagnosticReport statuses, immutable versions and content hashes.
--   preliminary  drafted from AI results, awaiting a radiologist (was 'draft')
--   final        signed by a radiologist (was 'signed')
--   amended      a signed report changed and signed again

ALTER TABLE reports DROP CONSTRAINT reports_status_check;
ALTER TABLE reports DROP CONSTRAINT signed_has_signer;
UPDATE reports SET status = CASE status WHEN 'draft' THEN 'preliminary' ELSE 'final' END;
ALTER TABLE reports ALTER COLUMN status SET DEFAULT 'preliminary';
ALTER TABLE reports ADD CONSTRAINT reports_status_check
    CHECK (status IN ('preliminary', 'final', 'amended'));
ALTER TABLE reports ADD CONSTRAINT signed_has_signer
    CHECK (status = 'preliminary' OR (signed_by IS NOT NULL AND signed_at IS NOT NULL));

CREATE INDEX reports_status_idx ON reports (status, updated_at);

ALTER TABLE report_versions DROP CONSTRAINT report_versions_status_check;
UPDATE report_versions SET status = CASE status WHEN 'draft' THEN 'preliminary' ELSE 'final' END;
ALTER TABLE report_versions ADD CONSTRAINT report_versions_status_check
    CHECK (status IN ('preliminary', 'final', 'amended'));

ALTER TABLE report_versions
    -- SHA-256 of the version's canonical content JSON (what report.signed carries)
    ADD COLUMN content_sha256 sha256_hex,
    -- the impression as written (the AI's summary in a preliminary version)
    ADD COLUMN impression text NOT NULL DEFAULT '',
    -- the inference runs the findings come from: a redelivered event finds its version
    ADD COLUMN run_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN author_role text,
    -- why a signed report was amended
    ADD COLUMN reason text,
    ADD CONSTRAINT amended_has_reason CHECK (status <> 'amended' OR reason IS NOT NULL);

UPDATE report_versions
    SET content_sha256 = encode(sha256(convert_to(content::text, 'UTF8')), 'hex');
ALTER TABLE report_versions ALTER COLUMN content_sha256 SET NOT NULL;

CREATE INDEX report_versions_runs_idx ON report_versions USING gin (run_ids);

-- A version, once written, is the record of what was reported: never changed or removed.
CREATE FUNCTION report_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_versions is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER report_versions_no_update_delete BEFORE UPDATE OR DELETE ON report_versions
    FOR EACH ROW EXECUTE FUNCTION report_versions_immutable();
