-- Undo 0032_v0_2_0_backfills: nothing to do here; the columns it filled go with 0030's rollback.
-- transactional: false
select 1;
