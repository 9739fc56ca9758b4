-- 0092_dag_begin_many: the first statement of a batch of procedure nodes starts them all.

-- Starts many nodes in one statement (the procedure batch's first), in (dag, node) order so
-- that concurrent batches lock node rows in the same order; ord is the input position.
create function tableos.dag_node_begin_many(
  p_dags text[], p_nodes text[], p_attempts integer[], p_workers text[], p_executors text[]
) returns table (ord integer, runnable boolean, status text, args jsonb, inputs jsonb, parents jsonb)
language plpgsql as $$
declare
  v record;
begin
  for v in
    select u.d, u.n, u.a, u.w, u.e, u.o
      from unnest(p_dags, p_nodes, p_attempts, p_workers, p_executors) with ordinality u(d, n, a, w, e, o)
     order by u.d, u.n
  loop
    return query select v.o::integer, b.* from tableos.dag_node_begin(v.d, v.n, v.a, v.w, v.e) b;
  end loop;
end;
$$;
