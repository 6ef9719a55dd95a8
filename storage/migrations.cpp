#include "storage/migrations.hpp"

#include <array>
#include <string>

namespace nyxgate::storage {
namespace {

/// Never edit an applied migration; add a new version instead.
constexpr std::string_view v1_identity = R"SQL(
CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE,
  name text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE memberships (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE TABLE access_tokens (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX access_tokens_by_user ON access_tokens (tenant_id, user_id);
CREATE TABLE api_keys (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  is_personal boolean NOT NULL DEFAULT false,
  provider text NOT NULL CHECK (provider IN ('openai', 'anthropic', 'google', 'kimi', 'github')),
  name text NOT NULL,
  secret_ciphertext bytea NOT NULL,
  secret_nonce bytea NOT NULL,
  key_version integer NOT NULL DEFAULT 1,
  hint text NOT NULL,
  status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'cooldown', 'invalid', 'revoked')),
  status_reason text,
  cooldown_until timestamptz,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT api_keys_personal_has_user CHECK (is_personal = (user_id IS NOT NULL))
);
CREATE INDEX api_keys_by_provider ON api_keys (tenant_id, provider, user_id);
CREATE TABLE llm_defaults (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  primary_provider text NOT NULL DEFAULT 'openai'
    CHECK (primary_provider IN ('openai', 'anthropic', 'google', 'kimi')),
  fallback_provider text CHECK (fallback_provider IN ('openai', 'anthropic', 'google', 'kimi')),
  models jsonb NOT NULL DEFAULT '{}'::jsonb,
  max_tokens integer NOT NULL DEFAULT 16384 CHECK (max_tokens > 0),
  ethics text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);
)SQL";

/// One row per completion call (SPEC §2). No foreign keys: usage is an audit trail that
/// outlives the keys and users it names, and inserts stay cheap.
constexpr std::string_view v2_usage = R"SQL(
CREATE TABLE usage_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL,
  user_id uuid,
  request_id text NOT NULL,
  provider text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  key_id uuid,
  key_scope text CHECK (key_scope IN ('personal', 'tenant')),
  fallback boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (status IN ('ok', 'error', 'truncated', 'cancelled')),
  prompt_tokens bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  latency_ms bigint NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_by_tenant ON usage_events (tenant_id, created_at);
)SQL";

/// The surrogate key nothing reads (SPEC §2 does not name it) costs PostgreSQL a sequence step
/// and a second index insert per row. The rows are
/// an append-only log read by tenant and time; `usage_events_by_tenant` serves that.
constexpr std::string_view v3_usage_without_id = R"SQL(
ALTER TABLE usage_events DROP COLUMN id;
)SQL";

/// A member's name belongs to the tenant that gave it (an admin adding an email known
/// elsewhere must not see, or change, what another tenant calls that user); invites let a new
/// member trade a single-use code for a first token. Codes are stored as SHA-256 only.
constexpr std::string_view v4_member_names_and_invites = R"SQL(
ALTER TABLE memberships ADD COLUMN name text NOT NULL DEFAULT '';
UPDATE memberships m SET name = u.name FROM users u WHERE u.id = m.user_id;
CREATE TABLE invites (
  tenant_id uuid NOT NULL,
  user_id uuid NOT NULL,
  code_hash text NOT NULL UNIQUE CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
)SQL";

/// Tenant-wide project data. Every key is led by `tenant_id`, and every reference is composite
/// with it, so a row can only ever point at a row of its own tenant (and, for a post's sources,
/// of its own project). Lists page newest first over `(created_at, id)`: each list has an index
/// in that order. A note's author is a member of the note's tenant; a removed member's notes
/// stay, authorless.
constexpr std::string_view v5_projects = R"SQL(
CREATE TABLE projects (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  github_repo text CHECK (github_repo ~ '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$'),
  blog_slug text UNIQUE CHECK (blog_slug ~ '^[a-z0-9-]{1,64}$'),
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, slug)
);
CREATE INDEX projects_newest ON projects (tenant_id, created_at DESC, id DESC);
CREATE TABLE notes (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL,
  author_id uuid,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  body text NOT NULL CHECK (octet_length(body) <= 262144),
  visibility text NOT NULL DEFAULT 'tenant' CHECK (visibility IN ('tenant', 'private')),
  github_sha text CHECK (github_sha ~ '^[0-9a-f]{40}$'),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, project_id, id),
  UNIQUE (tenant_id, project_id, github_sha),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id)
    ON DELETE SET NULL (author_id)
);
CREATE INDEX notes_newest ON notes (tenant_id, project_id, created_at DESC, id DESC);
CREATE TABLE docs (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  body text NOT NULL CHECK (octet_length(body) <= 1048576),
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX docs_newest ON docs (tenant_id, project_id, created_at DESC, id DESC);
CREATE TABLE blog_posts (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  body text NOT NULL CHECK (octet_length(body) <= 262144),
  published_at timestamptz,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, project_id, id),
  UNIQUE (tenant_id, project_id, slug),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX blog_posts_newest ON blog_posts (tenant_id, project_id, created_at DESC, id DESC);
CREATE INDEX blog_posts_published ON blog_posts (tenant_id, project_id, published_at DESC)
  WHERE published_at IS NOT NULL;
CREATE TABLE blog_post_sources (
  tenant_id uuid NOT NULL,
  project_id uuid NOT NULL,
  post_id uuid NOT NULL,
  note_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, post_id, note_id),
  FOREIGN KEY (tenant_id, project_id, post_id) REFERENCES blog_posts (tenant_id, project_id, id)
    ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, project_id, note_id) REFERENCES notes (tenant_id, project_id, id)
    ON DELETE CASCADE
);
CREATE INDEX blog_post_sources_by_note ON blog_post_sources (tenant_id, note_id);
)SQL";

/// Workflow runs and their items: the queue is the database. A node claims an item with
/// `FOR UPDATE SKIP LOCKED` and holds it by a lease (`owner`, `lease_until`) it renews while
/// the item runs; an item whose lease ran out is claimable again. `truncated` items wait for
/// their one continuation, their partial output in `partial`. Usage rows name their run and
/// item. Tenants may override the built-in prompt templates per kind.
constexpr std::string_view v6_workflows = R"SQL(
CREATE TABLE pipeline_runs (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('blog', 'docs', 'keyPoints', 'translate')),
  status text NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
  input jsonb NOT NULL DEFAULT '{}',
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX pipeline_runs_newest ON pipeline_runs (tenant_id, created_at DESC, id DESC);
CREATE TABLE pipeline_items (
  tenant_id uuid NOT NULL,
  run_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  position integer NOT NULL,
  input jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'truncated', 'done', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  owner text,
  lease_until timestamptz,
  provider text,
  key_scope text CHECK (key_scope IN ('personal', 'tenant')),
  fallback boolean,
  output jsonb,
  partial text,
  error text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, run_id, id),
  UNIQUE (tenant_id, run_id, position),
  FOREIGN KEY (tenant_id, run_id) REFERENCES pipeline_runs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX pipeline_items_claimable ON pipeline_items (lease_until NULLS FIRST)
  WHERE status IN ('pending', 'running', 'truncated');
CREATE TABLE prompt_templates (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('blog', 'docs', 'keyPoints', 'translate')),
  body text NOT NULL CHECK (octet_length(body) BETWEEN 1 AND 65536),
  updated_by uuid REFERENCES users(id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, kind)
);
ALTER TABLE usage_events ADD COLUMN run_id uuid, ADD COLUMN item_id uuid;
)SQL";

/// What a usage row tells beyond its token totals: the cached prompt tokens and reasoning
/// tokens inside them (OpenAI's counting), and whether the call was a chat or an embeddings one.
constexpr std::string_view v7_usage_detail = R"SQL(
ALTER TABLE usage_events
  ADD COLUMN cached_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN operation text NOT NULL DEFAULT 'chat' CHECK (operation IN ('chat', 'embeddings'));
)SQL";

constexpr std::array<migration, 7> all_migrations{{
    {1, "identity", v1_identity},
    {2, "usage", v2_usage},
    {3, "usage without id", v3_usage_without_id},
    {4, "member names and invites", v4_member_names_and_invites},
    {5, "projects", v5_projects},
    {6, "workflows", v6_workflows},
    {7, "usage detail", v7_usage_detail},
}};

/// Any constant works as long as every nyxgate node uses the same one.
constexpr std::string_view advisory_lock_key = "7262531600419";

}  // namespace

std::span<const migration> migrations() {
  return all_migrations;
}

int latest_schema_version() {
  return all_migrations.back().version;
}

statement schema_version_query() {
  return statement{
      "SELECT coalesce((SELECT max(version) FROM schema_migrations), 0) "
      "WHERE to_regclass('schema_migrations') IS NOT NULL "
      "UNION ALL SELECT 0 WHERE to_regclass('schema_migrations') IS NULL"};
}

int schema_version_of(const db_result& r) {
  return r.empty() ? -1 : static_cast<int>(count_of(r));
}

db_batch migrate_batch() {
  db_batch b;
  b.transaction = true;
  b.statements.emplace_back(std::string{"SELECT pg_advisory_xact_lock("} +
                            std::string{advisory_lock_key} + ")");
  b.statements.emplace_back(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& m : all_migrations) {
    // PL/pgSQL runs the DDL only when the version is missing; the lock above serializes nodes.
    std::string sql =
        "DO $nyxgate_migration$ BEGIN IF NOT EXISTS (SELECT 1 FROM schema_migrations "
        "WHERE version = " +
        std::to_string(m.version) + ") THEN\n";
    sql += m.sql;
    sql += "\nINSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) +
           ", '" + std::string{m.name} + "');\nEND IF; END $nyxgate_migration$";
    b.statements.emplace_back(std::move(sql));
  }
  b.statements.emplace_back("SELECT max(version) FROM schema_migrations");
  return b;
}

}  // namespace nyxgate::storage
