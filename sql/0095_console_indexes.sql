-- Indexes for the console's workflow list, so each filter walks an index that serves it and a
-- filter that matches little or nothing does not read the whole table.
--
-- By name, newest first: one more entry per run written and per status change.
create index workflow_name_idx on tableos.workflow (name, created_at);

-- The statuses a run rarely ends in (and enqueued, which it leaves): the partial index holds
-- only such rows, so the hot path of runs that start pending and end in success never writes it.
create index workflow_rare_status_idx on tableos.workflow (status, created_at)
  where status not in ('success', 'pending');
