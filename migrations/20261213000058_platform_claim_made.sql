-- The claim of an idempotency key travels in the round trip that begins its call's
-- transaction (BEGIN, the settings and the claim as one simple query), where the platform
-- cannot read what the INSERT did. The claim therefore ends with this check: a key another
-- call holds (committed: the unique index made this claim wait for it) fails the claim with
-- SQLSTATE HMKEY, and the call answers with that call's stored response instead.
CREATE FUNCTION platform.claim_made(inserted bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF inserted = 0 THEN
        RAISE EXCEPTION 'the idempotency key is claimed by an earlier call'
            USING ERRCODE = 'HMKEY';
    END IF;
END $$;

REVOKE ALL ON FUNCTION platform.claim_made(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.claim_made(bigint) TO openhmis_app;
