-- The platform's directory of bureaus: a platform admin holds no tenant, so row-level security would
-- show them no bureau at all. Besides the bureau itself, a row is visible to a transaction that the API
-- has marked as the platform's directory reader (after checking the platform_admin role), and only
-- for reading: names and codes, never a bureau's members or records.
CREATE POLICY platform_directory ON bureaus FOR SELECT
    USING (current_setting('branchwork.platform_directory', true) = 'on');
