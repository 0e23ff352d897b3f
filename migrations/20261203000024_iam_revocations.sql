-- Revocation takes effect before access tokens expire: the token verifier refuses tokens of
-- sessions revoked (a refresh token reused, signing out, a changed password) and of users
-- disabled or past their validity. A relay (the worker role) reads just enough to know them,
-- across tenants: which sessions were revoked lately and which users may not act.
GRANT SELECT (tenant_id, family_id, user_id, revoked_at) ON iam.refresh_tokens TO openhmis_worker;
GRANT SELECT (tenant_id, id, status, valid_from, valid_until) ON iam.users TO openhmis_worker;
CREATE POLICY revocations_are_read_by_the_relay ON iam.refresh_tokens FOR SELECT
    TO openhmis_worker USING (revoked_at IS NOT NULL);
CREATE POLICY blocked_users_are_read_by_the_relay ON iam.users FOR SELECT
    TO openhmis_worker USING (true);
CREATE INDEX refresh_tokens_revoked ON iam.refresh_tokens (revoked_at)
    WHERE revoked_at IS NOT NULL;
