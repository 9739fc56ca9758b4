-- 0073_wf_claim_snapshot: a claimed run comes back with all of its recorded calls. wf_claim
-- (plpgsql) takes a fresh snapshot for each of its statements, so it can claim a run made by
-- a transaction that committed after the calling statement began (a fork, a resume); read in
-- that statement's older snapshot, the run's calls were missing, and the run replayed from
-- the start into its own history and stopped. Volatile, the read takes a fresh snapshot too.
alter function tableos.wf_calls_json(text) volatile;
