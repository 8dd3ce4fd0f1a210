-- minicrm: privileges of the web app's database role (minicrm_app), given by the owner of the
-- tables (minicrm_owner, the role that runs `manage.py migrate`). Run it after every migrate;
-- it is idempotent. docs/audit.md explains each line.
GRANT USAGE ON SCHEMA public TO minicrm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO minicrm_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO minicrm_app;
-- The audit log is written by the SECURITY DEFINER trigger functions, never by the app itself:
-- the app may read it (history pages), nothing more.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.audit_event FROM minicrm_app;
REVOKE EXECUTE ON FUNCTION public.audit_prune(timestamptz) FROM minicrm_app;
