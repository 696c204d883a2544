-- Numbered 0008: 0007 (reserved for this change) was taken by llm_call_state on main first.
-- Roles on API keys (content pipeline, issue 12): `admin` may do everything (every key before
-- this migration keeps working as it did), `marketer` runs jobs and edits content, `supervisor`
-- reads, approves and rejects only. Routes check the role with the kit's requireRole.
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
  CHECK (role IN ('admin', 'marketer', 'supervisor'));
