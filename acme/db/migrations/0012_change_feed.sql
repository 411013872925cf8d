-- 0012: the change feed (docs/decisions/0090-change-feed.md). An entry is written in the
-- transaction that makes the change, beside its outbox row, without a number; once committed,
-- the sequencer (acme.feed.sequence, one at a time under an advisory lock) numbers the
-- entries it can see 1, 2, 3... in the order they were written. An entry is never renumbered
-- and never removed: the outbox prunes its published rows, the feed keeps its own.

CREATE TABLE change_feed (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq             bigint UNIQUE CHECK (seq >= 1),
    event_id        text NOT NULL UNIQUE,
    event_type      text NOT NULL,
    -- what the entry says happened: the event type without its prefix, except that a
    -- report.signed with status amended is report.amended
    action          text NOT NULL CHECK (action IN (
                        'instance.stored', 'instance.rejected', 'series.completed',
                        'inference.completed', 'inference.failed', 'report.drafted',
                        'report.signed', 'report.amended')),
    subject         text,
    study_uid       text,
    series_uid      text,
    sop_uid         text,
    data            jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL,
    staged_at       timestamptz NOT NULL DEFAULT now(),
    sequenced_at    timestamptz,
    CONSTRAINT sequenced_has_time CHECK ((seq IS NULL) = (sequenced_at IS NULL))
);

CREATE INDEX change_feed_unsequenced_idx ON change_feed (id) WHERE seq IS NULL;
CREATE INDEX change_feed_study_idx ON change_feed (study_uid, seq);

-- The feed begins with the announcements the outbox still holds, in the order they were
-- staged.
INSERT INTO change_feed (seq, event_id, event_type, action, subject, study_uid, series_uid,
                         sop_uid, data, occurred_at, staged_at, sequenced_at)
SELECT row_number() OVER (ORDER BY o.id), o.event_id, o.event_type,
       CASE WHEN o.event_type = 'org.acme.imaging.report.signed'
                 AND convert_from(o.body, 'UTF8')::jsonb ->> 'status' = 'amended'
            THEN 'report.amended'
            ELSE substr(o.event_type, length('org.acme.imaging.') + 1) END,
       o.headers ->> 'ce-subject',
       convert_from(o.body, 'UTF8')::jsonb ->> 'study_uid',
       convert_from(o.body, 'UTF8')::jsonb ->> 'series_uid',
       convert_from(o.body, 'UTF8')::jsonb ->> 'sop_uid',
       convert_from(o.body, 'UTF8')::jsonb,
       COALESCE((o.headers ->> 'ce-time')::timestamptz, o.created_at),
       o.created_at, now()
FROM outbox o
WHERE o.event_type IN (
    'org.acme.imaging.instance.stored', 'org.acme.imaging.instance.rejected',
    'org.acme.imaging.series.completed', 'org.acme.imaging.inference.completed',
    'org.acme.imaging.inference.failed', 'org.acme.imaging.report.drafted',
    'org.acme.imaging.report.signed')
ORDER BY o.id;
