-- Audit: repair a sealer offset left behind by the commit-order read that sorted transaction
-- ids as text ("1000" before "999"). Such a sealer recorded an offset below records it had
-- already chained, then stopped on their duplicate. The offset moves to the last chained
-- record in true commit order; a record below it that was never chained is reported as
-- UNCHAINED by `openhmis audit verify`, which is what it is.
UPDATE audit.sealer s
SET last_txid = last.txid, last_id = last.id
FROM (SELECT r.txid, r.id FROM audit.records r
      JOIN audit.chain c ON c.tenant_id = r.tenant_id AND c.record_id = r.record_id
      ORDER BY r.txid DESC, r.id DESC LIMIT 1) last
WHERE (last.txid, last.id) > (s.last_txid, s.last_id);
