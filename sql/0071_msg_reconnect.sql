-- 0071_msg_reconnect: sends and takes run once by token (0070_once), so a client that lost
-- its connection while one was committing runs it again and gets the first run's outcome: a
-- send is not made twice, and a consumed message is handed over again instead of lost.

-- msg_send run once by p_token: per row the new seq, or null for a (sender, id) sent before.
create function tableos.msg_send_once(
  p_token uuid, p_forget uuid[],
  p_receivers text[], p_senders text[], p_topics text[], p_ids text[], p_corrs text[],
  p_bodies text[], p_ack_receivers text[], p_ack_seqs bigint[]
) returns table (ord integer, seq bigint)
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
  v_result jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v_result is null then
    select coalesce(jsonb_agg(s order by s.ord), '[]') into v_result
      from tableos.msg_send(p_receivers, p_senders, p_topics, p_ids, p_corrs, p_bodies,
                            p_ack_receivers, p_ack_seqs) s;
    perform tableos.op_record(p_token, v_result);
  end if;
  return query select x.ord, x.seq from jsonb_to_recordset(v_result) as x(ord integer, seq bigint);
end;
$$;

-- msg_take run once by p_token: a second run returns the messages the first one took.
create function tableos.msg_take_once(
  p_token uuid, p_forget uuid[],
  p_mailboxes text[], p_topics text[], p_limits integer[], p_lease_ms integer[]
) returns table (
  req integer, receiver text, seq bigint, sender text, topic text, id text, corr text,
  body jsonb, sent_at timestamptz, deliveries integer, missing boolean
)
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
  v_result jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v_result is null then
    select coalesce(jsonb_agg(t), '[]') into v_result
      from tableos.msg_take(p_mailboxes, p_topics, p_limits, p_lease_ms) t;
    perform tableos.op_record(p_token, v_result);
  end if;
  return query
  select x.req, x.receiver, x.seq, x.sender, x.topic, x.id, x.corr, x.body, x.sent_at,
         x.deliveries, x.missing
    from jsonb_to_recordset(v_result) as x(
      req integer, receiver text, seq bigint, sender text, topic text, id text, corr text,
      body jsonb, sent_at timestamptz, deliveries integer, missing boolean);
end;
$$;
