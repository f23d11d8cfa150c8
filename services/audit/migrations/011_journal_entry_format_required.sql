-- An entry must say its format: one inserted by an audit-journal of the release before the chains (which knows
-- nothing of back-links or of journal_keys) would break its branch's and stream's chains, so it is refused
-- (its consumer retries once the new release runs) instead of being journalled without links.
ALTER TABLE journal ALTER COLUMN entry_format DROP DEFAULT;
