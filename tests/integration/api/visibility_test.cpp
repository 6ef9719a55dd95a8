// Visibility over the whole procedure registry (docs/projects.md, "Visibility test"): one table
// entry per registered tRPC procedure, and four checks run over every entry against a world of
// two tenants built once per test case.
//   (a) tenant B's token with tenant A's ids answers exactly as a missing id does; answers
//       without ids carry nothing of A;
//   (b) a plain member of A sees what the author created, except the author's private notes;
//   (c) no input accepts `tenantId` or `userId`;
// and the table covers the registry exactly, so a new procedure cannot skip the checks.
#include <boost/test/unit_test.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "tests/integration/node_fixture.hpp"

namespace json = boost::json;
using nyxgate::testing::http_reply;
using nyxgate::testing::node_fixture;

namespace {

/// Nothing listens there: procedures that call a provider or GitHub get a quick connection
/// failure, the same for every caller.
constexpr const char* unreachable = "https://127.0.0.1:9";

std::string random_uuid() {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    auto nibble = static_cast<unsigned>(rng() & 15u);
    if (i == 12) nibble = 4;
    if (i == 16) nibble = 8 | (nibble & 3u);
    out += hex[nibble];
  }
  return out;
}

/// A distinct suffix for names and slugs created by repeated calls.
std::string unique() {
  static int n = 0;
  return std::to_string(++n);
}

bool has_error(const http_reply& r) {
  return r.body.is_object() && r.body.as_object().contains("error");
}

std::string error_code(const http_reply& r) {
  return has_error(r) ? std::string{r.body.at("error").at("data").at("code").as_string()} : "";
}

std::string error_message(const http_reply& r) {
  return has_error(r) ? std::string{r.body.at("error").at("message").as_string()} : "";
}

const json::value& data_of(const json::value& body) {
  return body.at("result").at("data");
}

std::string str(const json::value& v, std::string_view key) {
  return std::string{v.at(key).as_string()};
}

/// One tenant's fixture ids: the same shape for A and B, so any entry builds a valid input for
/// either tenant.
struct tenant_world {
  std::string slug;
  std::string owner, admin, member;  // tokens
  std::string tenant_id, owner_id, admin_id, member_id;
  std::string invitee_id, redeemed_code;  // a member who redeemed their invite
  std::string pending_id;                 // a member whose invite is still open
  std::string token_id;                   // the owner's second token
  std::string tenant_key, personal_key, github_key;
  std::string project, spare_project;  // the spare one is for projects.delete
  /// The owner's private notes: `private_note` cited by no post, `private_cited` by the
  /// published post.
  std::string private_note, private_cited, owner_note, member_note;
  std::vector<std::string> private_created_at;
  std::string doc, draft, published;
  std::string run;  // a docs run of the owner's

  /// Every id of this tenant, to look for in another tenant's answers.
  std::vector<std::string> ids() const {
    std::vector<std::string> all{
        tenant_id,  owner_id,     admin_id,   member_id, invitee_id,    pending_id,   token_id,
        tenant_key, personal_key, github_key, project,   spare_project, private_note, private_cited,
        owner_note, member_note,  doc,        draft,     published,     run};
    std::erase(all, std::string{});
    return all;
  }
};

/// How a field carries an id, so the test can put a missing one in its place.
enum class id_kind { uuid, uuid_list, invite_code };

struct id_field {
  std::string name;
  id_kind kind = id_kind::uuid;
};

/// What a plain member's answer to a query must be, compared with the author's (the owner's):
/// "" when it is, else the difference. Both are whole reply bodies (result or error).
using same_fn = std::function<std::string(const json::value& author, const json::value& member,
                                          const tenant_world& a)>;

struct entry {
  std::string path{};
  bool query = true;
  /// A valid input for the tenant's owner; null means the procedure takes no input.
  std::function<json::value(const tenant_world&)> input{};
  /// The fields that carry ids ((a) puts A's and a missing id in each, one at a time).
  std::vector<id_field> ids{};
  /// (b) for queries.
  same_fn same{};
  /// (b) for queries: the tRPC code of the author's own answer, "" for a result.
  std::string author_error{};
  /// (b) for mutations: the HTTP status the plain member gets on the author's objects.
  unsigned member_status = 0;
  /// (b) for fields that take note ids: the author's private note answers, to the plain member
  /// and to the admin, exactly as a missing note.
  std::string note_field{};
  bool is_public = false;
  /// The answer changes with use (lastUsedAt): left out of the world's before/after snapshot.
  bool volatile_answer = false;
};

// --- comparisons for (b) ---------------------------------------------------------------------

std::string differ(const json::value& author, const json::value& member) {
  if (author == member) return "";
  return "author: " + json::serialize(author) + "\n member: " + json::serialize(member);
}

same_fn equal() {
  return [](const json::value& author, const json::value& member, const tenant_world&) {
    return differ(author, member);
  };
}

/// An admin procedure that reads: the plain member is refused.
same_fn member_forbidden() {
  return [](const json::value&, const json::value& member, const tenant_world&) -> std::string {
    const auto* e = member.is_object() ? member.as_object().if_contains("error") : nullptr;
    if (e && e->at("data").at("code") == "FORBIDDEN") return "";
    return "the plain member was not refused: " + json::serialize(member);
  };
}

/// Drops array elements (anywhere) that are ids in `ids` or objects whose `id` is; counts the
/// drops.
json::value without_ids(const json::value& v, const std::set<std::string>& ids, int& dropped) {
  if (v.is_array()) {
    json::array out;
    for (const auto& e : v.as_array()) {
      const auto* id = e.is_object() ? e.as_object().if_contains("id") : &e;
      if (id && id->is_string() && ids.count(std::string{id->as_string()})) {
        ++dropped;
        continue;
      }
      out.push_back(without_ids(e, ids, dropped));
    }
    return out;
  }
  if (v.is_object()) {
    json::object out;
    for (const auto& [k, e] : v.as_object()) out[k] = without_ids(e, ids, dropped);
    return out;
  }
  return v;
}

/// The member's answer is the author's without the objects `ids_of` names, which the author's
/// answer must hold.
same_fn equal_without(std::function<std::set<std::string>(const tenant_world&)> ids_of) {
  return [ids_of](const json::value& author, const json::value& member, const tenant_world& a) {
    int dropped = 0;
    auto trimmed = without_ids(author, ids_of(a), dropped);
    if (dropped == 0)
      return "the author's own object is missing from the author's answer: " +
             json::serialize(author);
    return differ(trimmed, member);
  };
}

std::set<std::string> private_notes(const tenant_world& a) {
  return {a.private_note, a.private_cited};
}

same_fn equal_without_private_notes() {
  return equal_without(private_notes);
}

/// Caller-specific fields (the caller's own user and role) removed, the rest equal.
same_fn equal_except(std::vector<std::string> keys) {
  return [keys](const json::value& author, const json::value& member, const tenant_world&) {
    if (!author.is_object() || !member.is_object() || !author.as_object().contains("result"))
      return differ(author, member);
    auto a = data_of(author);
    auto m = data_of(member);
    for (const auto& k : keys) {
      a.as_object().erase(k);
      m.as_object().erase(k);
    }
    return differ(a, m);
  };
}

/// The author's private notes counted out of a stats object: fewer notes in `notes` and in
/// their months, fewer note words (the exact count is the procedure's own).
std::string uncount_private_notes(json::object& stats, const json::object& member,
                                  const tenant_world& a) {
  auto* notes = stats.if_contains("notes");
  if (!notes || !notes->is_int64()) return "stats without a notes count";
  *notes = notes->as_int64() - static_cast<std::int64_t>(a.private_created_at.size());
  auto* months = stats.if_contains("notesPerMonth");
  if (!months || !months->is_array()) return "stats without notesPerMonth";
  auto& list = months->as_array();
  for (const auto& created_at : a.private_created_at) {
    auto it = std::find_if(list.begin(), list.end(), [&](const json::value& m) {
      return created_at.starts_with(std::string{m.at("month").as_string()});
    });
    if (it == list.end()) return "a private note's month is not in the author's notesPerMonth";
    auto& count = it->as_object()["count"];
    count = count.as_int64() - 1;
    if (count.as_int64() == 0) list.erase(it);
  }
  auto* words = stats.if_contains("words");
  const auto* member_words = member.if_contains("words");
  if (words && member_words && words->is_object() && member_words->is_object()) {
    auto& author_notes = words->as_object()["notes"];
    const auto& member_notes = member_words->at("notes");
    if (author_notes.as_int64() <= member_notes.as_int64())
      return "the author's private notes add no words to the author's stats";
    author_notes = member_notes;
  }
  return "";
}

same_fn equal_stats() {
  return [](const json::value& author, const json::value& member, const tenant_world& a) {
    if (!author.as_object().contains("result") || !member.as_object().contains("result"))
      return differ(author, member);
    auto s = data_of(author);
    if (auto e = uncount_private_notes(s.as_object(), data_of(member).as_object(), a); !e.empty())
      return e;
    return differ(s, data_of(member));
  };
}

same_fn equal_overview() {
  return [](const json::value& author, const json::value& member, const tenant_world& a) {
    if (!author.as_object().contains("result") || !member.as_object().contains("result"))
      return differ(author, member);
    int dropped = 0;
    auto o = without_ids(data_of(author), private_notes(a), dropped);
    if (dropped == 0) return std::string{"no private note in the author's overview"};
    auto& stats = o.as_object()["stats"].as_object();
    if (auto e = uncount_private_notes(stats, data_of(member).at("stats").as_object(), a);
        !e.empty())
      return e;
    return differ(o, data_of(member));
  };
}

same_fn equal_health() {
  return [](const json::value& author, const json::value& member, const tenant_world& a) {
    if (!author.as_object().contains("result") || !member.as_object().contains("result"))
      return differ(author, member);
    auto h = data_of(author);
    auto* counts = h.as_object().if_contains("counts");
    if (!counts || !counts->is_object() || !counts->as_object().contains("notes"))
      return "healthCheck without counts.notes: " + json::serialize(h);
    auto& notes = counts->as_object()["notes"];
    auto seen = notes.as_int64();
    auto without = seen - static_cast<std::int64_t>(a.private_created_at.size());
    notes = without;
    // A check's reason may cite the count ("3 notes").
    for (auto& c : h.at("checks").as_array()) {
      auto& reason = c.as_object()["reason"];
      auto text = std::string{reason.as_string()};
      auto cited = std::to_string(seen) + " notes";
      if (auto at = text.find(cited); at != std::string::npos)
        reason = text.replace(at, cited.size(), std::to_string(without) + " notes");
    }
    return differ(h, data_of(member));
  };
}

/// User-scoped by the contract (SPEC §5: own tokens): the member sees none of the author's.
same_fn own_only(std::function<std::set<std::string>(const tenant_world&)> ids_of) {
  return [ids_of](const json::value& author, const json::value& member, const tenant_world& a) {
    auto author_raw = json::serialize(author);
    auto member_raw = json::serialize(member);
    for (const auto& id : ids_of(a)) {
      if (author_raw.find(id) == std::string::npos) return "the author's answer lacks " + id;
      if (member_raw.find(id) != std::string::npos) return "the member's answer shows " + id;
    }
    return std::string{};
  };
}

// --- the table -------------------------------------------------------------------------------

json::value obj(std::initializer_list<json::value_ref> init) {
  return json::value(init);
}

json::value none(const tenant_world&) {
  return nullptr;
}

/// The input `{key: <the tenant's id>}`.
std::function<json::value(const tenant_world&)> with(std::string key,
                                                     std::string tenant_world::*id) {
  return [key, id](const tenant_world& w) { return obj({{key, w.*id}}); };
}

/// One entry per registered procedure. A new procedure adds its line here (docs/projects.md,
/// "Visibility test").
std::vector<entry> table() {
  std::vector<entry> t;
  auto add = [&](entry e) { t.push_back(std::move(e)); };
  const auto q = true;
  const auto m = false;

  // identity
  add({.path = "tenants.current",
       .query = q,
       .input = none,
       .same = equal_except({"user", "role"})});
  add({.path = "members.list", .query = q, .input = none, .same = equal()});
  add({.path = "members.add",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"email", "new" + unique() + "@" + w.slug + ".test"}, {"role", "member"}});
           },
       .member_status = 403});
  add({.path = "members.invite",
       .query = m,
       .input = with("memberId", &tenant_world::pending_id),
       .ids = {{"memberId"}},
       .member_status = 403});
  add({.path = "members.setRole",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"memberId", w.invitee_id}, {"role", "member"}});
           },
       .ids = {{"memberId"}},
       .member_status = 403});
  add({.path = "members.remove",
       .query = m,
       .input = with("memberId", &tenant_world::invitee_id),
       .ids = {{"memberId"}},
       .member_status = 403});
  add({.path = "tokens.list",
       .query = q,
       .input = none,
       .same = own_only([](const tenant_world& a) { return std::set{a.token_id}; }),
       .volatile_answer = true});
  add({.path = "tokens.create",
       .query = m,
       .input =
           [](const tenant_world&) {
             return obj({{"name", "t" + unique()}});
           },
       .member_status = 200});
  // Own tokens only (admins revoke any): the author's token is a missing one to the member.
  add({.path = "tokens.revoke",
       .query = m,
       .input = with("id", &tenant_world::token_id),
       .ids = {{"id"}},
       .member_status = 404});
  // Public: the code is the credential and the token is ignored. (a): a code of A, used
  // already, answers as an unknown code, with B's token too. (b) has no caller to compare.
  add({.path = "invites.redeem",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"code", w.redeemed_code}, {"name", "Again"}});
           },
       .ids = {{"code", id_kind::invite_code}},
       .is_public = true});

  // keys
  add({.path = "apiKeys.list",
       .query = q,
       .input = none,
       .same = equal_without([](const tenant_world& a) { return std::set{a.personal_key}; })});
  add({.path = "apiKeys.create",
       .query = m,
       .input =
           [](const tenant_world&) {
             return obj(
                 {{"provider", "openai"}, {"name", "k" + unique()}, {"key", "sk-visibility-0001"}});
           },
       .member_status = 403});
  add({.path = "apiKeys.delete",
       .query = m,
       .input = with("id", &tenant_world::tenant_key),
       .ids = {{"id"}},
       .member_status = 403});
  add({.path = "apiKeys.replace",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"id", w.tenant_key}, {"key", "sk-visibility-0002"}});
           },
       .ids = {{"id"}},
       .member_status = 403});
  // Calls the provider (unreachable here); (a) and (c) answer before any call.
  add({.path = "apiKeys.test",
       .query = m,
       .input = with("id", &tenant_world::tenant_key),
       .ids = {{"id"}},
       .member_status = 403});
  add({.path = "llmDefaults.get", .query = q, .input = none, .same = equal()});
  add({.path = "llmDefaults.update",
       .query = m,
       .input =
           [](const tenant_world&) {
             return obj({{"maxTokens", 1000}});
           },
       .member_status = 403});
  add({.path = "providers.resolve", .query = q, .input = none, .same = equal()});
  add({.path = "templates.get", .query = q, .input = none, .same = member_forbidden()});
  // An override of the tenant's blog template: the plain member may read templates, not save.
  add({.path = "templates.update",
       .query = m,
       .input =
           [](const tenant_world&) {
             return obj({{"kind", "blog"}, {"body", "Write about {{project.name}}:\n{{notes}}"}});
           },
       .member_status = 403});
  // GitHub is unreachable: both callers get the same BAD_GATEWAY through the tenant's key.
  add({.path = "github.viewer",
       .query = q,
       .input = none,
       .same = equal(),
       .author_error = "BAD_GATEWAY"});

  // projects (docs/projects.md)
  add({.path = "projects.list", .query = q, .input = none, .same = equal()});
  add({.path = "projects.get",
       .query = q,
       .input = with("id", &tenant_world::project),
       .ids = {{"id"}},
       .same = equal()});
  add({.path = "projects.create",
       .query = m,
       .input =
           [](const tenant_world& w) {
             auto n = unique();
             return obj({{"slug", w.slug + "-p" + n}, {"name", w.slug + " project " + n}});
           },
       .member_status = 200});
  add({.path = "projects.update",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"id", w.project}, {"description", w.slug + " described " + unique()}});
           },
       .ids = {{"id"}},
       .member_status = 200});
  add({.path = "projects.delete",
       .query = m,
       .input = with("id", &tenant_world::spare_project),
       .ids = {{"id"}},
       .member_status = 403});
  add({.path = "projects.notes.list",
       .query = q,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .same = equal_without_private_notes()});
  add({.path = "projects.notes.create",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"projectId", w.project},
                         {"title", w.slug + " note " + unique()},
                         {"body", "more words"}});
           },
       .ids = {{"projectId"}},
       .member_status = 200});
  // Author or admin: the member is refused the author's note, the private one is missing.
  add({.path = "projects.notes.update",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"id", w.owner_note}, {"title", w.slug + " retitled " + unique()}});
           },
       .ids = {{"id"}},
       .member_status = 403,
       .note_field = "id"});
  add({.path = "projects.docs.list",
       .query = q,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .same = equal()});
  add({.path = "projects.docs.get",
       .query = q,
       .input = with("id", &tenant_world::doc),
       .ids = {{"id"}},
       .same = equal()});
  add({.path = "projects.docs.create",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"projectId", w.project},
                         {"title", w.slug + " doc " + unique()},
                         {"body", "doc words"}});
           },
       .ids = {{"projectId"}},
       .member_status = 200});
  add({.path = "projects.docs.update",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"id", w.doc}, {"body", w.slug + " doc body " + unique()}});
           },
       .ids = {{"id"}},
       .member_status = 200});
  // The published post cites the author's private note: its id is the author's alone.
  add({.path = "projects.blogPosts.list",
       .query = q,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .same = equal_without_private_notes()});
  add({.path = "projects.blogPosts.get",
       .query = q,
       .input = with("id", &tenant_world::published),
       .ids = {{"id"}},
       .same = equal_without_private_notes()});
  add({.path = "projects.blogPosts.create",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"projectId", w.project},
                         {"title", w.slug + " post " + unique()},
                         {"body", "post words"},
                         {"sourceNoteIds", json::array{w.owner_note}}});
           },
       .ids = {{"projectId"}, {"sourceNoteIds", id_kind::uuid_list}},
       .member_status = 200,
       .note_field = "sourceNoteIds"});
  add({.path = "projects.blogPosts.unblogged",
       .query = q,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .same = equal_without_private_notes()});
  add({.path = "projects.blogPosts.publish",
       .query = m,
       .input = with("id", &tenant_world::draft),
       .ids = {{"id"}},
       .member_status = 403});
  // The GitHub check fails the same way for both callers (GitHub unreachable).
  add({.path = "projects.healthCheck",
       .query = q,
       .input = with("id", &tenant_world::project),
       .ids = {{"id"}},
       .same = equal_health()});
  add({.path = "projects.stats",
       .query = q,
       .input = with("id", &tenant_world::project),
       .ids = {{"id"}},
       .same = equal_stats()});
  add({.path = "projects.overview",
       .query = q,
       .input =
           [](const tenant_world& w) {
             return obj({{"id", w.project}, {"limit", 20}});
           },
       .ids = {{"id"}},
       .same = equal_overview()});
  // pipelines (docs/workflows.md): any member works with the tenant's runs. The run's counts
  // move while an engine works on it.
  add({.path = "pipelines.create",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"projectId", w.project},
                         {"kind", "blog"},
                         {"input", obj({{"noteIds", json::array{w.owner_note}}})}});
           },
       .ids = {{"projectId"}},
       .member_status = 200});
  add({.path = "projects.blogPosts.generate",
       .query = m,
       .input =
           [](const tenant_world& w) {
             return obj({{"projectId", w.project}, {"noteIds", json::array{w.owner_note}}});
           },
       .ids = {{"projectId"}, {"noteIds", id_kind::uuid_list}},
       .member_status = 200,
       .note_field = "noteIds"});
  add({.path = "pipelines.get",
       .query = q,
       .input = with("id", &tenant_world::run),
       .ids = {{"id"}},
       .same = equal(),
       .volatile_answer = true});
  add({.path = "pipelines.list",
       .query = q,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .same = equal(),
       .volatile_answer = true});
  add({.path = "pipelines.onProgress",
       .query = q,
       .input = with("runId", &tenant_world::run),
       .ids = {{"runId"}},
       .same = equal()});
  add({.path = "pipelines.rerun",
       .query = m,
       .input = with("id", &tenant_world::run),
       .ids = {{"id"}},
       .member_status = 200});
  add({.path = "pipelines.cancel",
       .query = m,
       .input = with("id", &tenant_world::run),
       .ids = {{"id"}},
       .member_status = 200});
  // GitHub is unreachable: the member gets the author's BAD_GATEWAY, not a NOT_FOUND.
  add({.path = "projects.importGitHubCommits",
       .query = m,
       .input = with("projectId", &tenant_world::project),
       .ids = {{"projectId"}},
       .member_status = 502});
  return t;
}

// --- the world -------------------------------------------------------------------------------

struct visibility_fixture : node_fixture {
  visibility_fixture()
      : node_fixture([](nyxgate::config::settings& s) {
          s.providers.openai.base_url = unreachable;
          s.providers.anthropic.base_url = unreachable;
          s.providers.google.base_url = unreachable;
          s.providers.kimi.base_url = unreachable;
          s.providers.github.base_url = unreachable;
        }) {
    for (const auto& p : node().procedure_paths()) registered.insert(p);
  }

  std::set<std::string> registered;
  std::vector<entry> entries = table();
  tenant_world a, b;

  bool has(const std::string& path) const { return registered.count(path) > 0; }

  http_reply call(const entry& e, const std::string& token, const json::value& input) {
    auto text = input.is_null() ? std::string{} : json::serialize(input);
    return e.query ? query(e.path, e.is_public ? "" : token, text)
                   : mutate(e.path, e.is_public ? "" : token, text);
  }

  json::value ok(const std::string& path, bool is_query, const std::string& token,
                 const json::value& input) {
    auto text = input.is_null() ? std::string{} : json::serialize(input);
    auto r = is_query ? query(path, token, text) : mutate(path, token, text);
    BOOST_REQUIRE_MESSAGE(r.status == 200u, path << " " << text << ": " << r.raw);
    return data_of(r.body);
  }

  std::string id_of(const std::string& path, const std::string& token, const json::value& input) {
    return str(ok(path, false, token, input), "id");
  }

  /// Builds a tenant: an owner, an admin, a plain member, a redeemed and a pending invite, a
  /// second owner token, keys, and (when registered) a project with a GitHub repository and a
  /// blog slug, a private and a tenant note of the owner, a member's note, a doc, a draft and
  /// a published post.
  tenant_world build(const std::string& slug) {
    tenant_world w;
    w.slug = slug;
    w.owner = seed_tenant(slug, "owner@" + slug + ".test");
    w.admin = add_user_with_token(slug, "admin@" + slug + ".test", "admin");
    w.member = add_user_with_token(slug, "member@" + slug + ".test", "member");
    auto current = ok("tenants.current", true, w.owner, nullptr);
    w.tenant_id = str(current, "id");
    w.owner_id = str(current.at("user"), "id");
    w.admin_id = str(ok("tenants.current", true, w.admin, nullptr).at("user"), "id");
    w.member_id = str(ok("tenants.current", true, w.member, nullptr).at("user"), "id");

    auto invitee = ok("members.add", false, w.owner,
                      obj({{"email", "invitee@" + slug + ".test"}, {"role", "member"}}));
    w.invitee_id = str(invitee, "userId");
    w.redeemed_code = str(invitee.at("invite"), "code");
    ok("invites.redeem", false, "", obj({{"code", w.redeemed_code}, {"name", "Invitee"}}));
    w.pending_id = str(ok("members.add", false, w.owner,
                          obj({{"email", "pending@" + slug + ".test"}, {"role", "member"}})),
                       "userId");
    w.token_id = id_of("tokens.create", w.owner, obj({{"name", slug + " ci"}}));

    auto key = [&](const char* provider, bool personal) {
      return id_of("apiKeys.create", w.owner,
                   obj({{"provider", provider},
                        {"name", slug + " " + provider},
                        {"key", std::string{"sk-"} + provider + "-fixture-key"},
                        {"isPersonal", personal}}));
    };
    w.tenant_key = key("openai", false);
    w.personal_key = key("anthropic", true);
    w.github_key = key("github", false);

    if (has("projects.create")) {
      w.project = id_of("projects.create", w.owner,
                        obj({{"slug", slug + "-web"},
                             {"name", slug + " web"},
                             {"description", slug + " website"},
                             {"githubRepo", slug + "/web"},
                             {"blogSlug", slug + "-blog"}}));
      w.spare_project = id_of("projects.create", w.owner,
                              obj({{"slug", slug + "-spare"}, {"name", slug + " spare"}}));
    }
    if (has("projects.notes.create")) {
      auto note = [&](const std::string& token, const std::string& title, const char* visibility) {
        return ok("projects.notes.create", false, token,
                  obj({{"projectId", w.project},
                       {"title", title},
                       {"body", title + " body with several words"},
                       {"visibility", visibility}}));
      };
      // The private notes come first: the latest activity is the same for every caller.
      auto private_note = note(w.owner, slug + " owner private", "private");
      auto private_cited = note(w.owner, slug + " owner private cited", "private");
      w.private_note = str(private_note, "id");
      w.private_cited = str(private_cited, "id");
      w.private_created_at = {str(private_note, "createdAt"), str(private_cited, "createdAt")};
      w.owner_note = str(note(w.owner, slug + " owner note", "tenant"), "id");
      w.member_note = str(note(w.member, slug + " member note", "tenant"), "id");
    }
    if (has("projects.docs.create"))
      w.doc =
          id_of("projects.docs.create", w.owner,
                obj({{"projectId", w.project}, {"title", slug + " doc"}, {"body", "doc text"}}));
    if (has("projects.blogPosts.create")) {
      w.draft = id_of("projects.blogPosts.create", w.owner,
                      obj({{"projectId", w.project},
                           {"title", slug + " draft"},
                           {"body", "draft words"},
                           {"sourceNoteIds", json::array{w.owner_note}}}));
      w.published = id_of("projects.blogPosts.create", w.owner,
                          obj({{"projectId", w.project},
                               {"title", slug + " published"},
                               {"body", "published words"},
                               {"sourceNoteIds", json::array{w.private_cited}}}));
      if (has("projects.blogPosts.publish"))
        ok("projects.blogPosts.publish", false, w.owner, obj({{"id", w.published}}));
    }
    if (has("pipelines.create")) {
      w.run = id_of("pipelines.create", w.owner,
                    obj({{"projectId", w.project}, {"kind", "docs"}, {"input", obj({})}}));
      // Finished, so that its progress stream ends and no engine changes it meanwhile.
      if (has("pipelines.cancel")) ok("pipelines.cancel", false, w.owner, obj({{"id", w.run}}));
    }
    return w;
  }

  void build_world() {
    a = build("acme");
    b = build("globex");
  }

  /// The registered entries, in table order.
  std::vector<const entry*> runnable() const {
    std::vector<const entry*> out;
    for (const auto& e : entries)
      if (has(e.path)) out.push_back(&e);
    return out;
  }

  /// A's owner's answer to every query: (a) and (c) must leave it as it was.
  std::map<std::string, std::string> snapshot_of_a() {
    std::map<std::string, std::string> out;
    for (const auto* e : runnable())
      if (e->query && !e->volatile_answer) out[e->path] = call(*e, a.owner, e->input(a)).raw;
    return out;
  }

  void expect_unchanged(const std::map<std::string, std::string>& before) {
    auto after = snapshot_of_a();
    for (const auto& [path, raw] : before)
      BOOST_TEST(after[path] == raw,
                 path << " of tenant A changed:\n before: " << raw << "\n after:  " << after[path]);
  }
};

json::value missing_like(const id_field& f) {
  switch (f.kind) {
    case id_kind::uuid_list:
      return json::array{json::value(random_uuid())};
    case id_kind::invite_code:
      return json::value("unknown-" + random_uuid());
    case id_kind::uuid:
      break;
  }
  return json::value(random_uuid());
}

/// `hidden` (another tenant's id, another member's private note) answers exactly as `missing`
/// (a fresh id): NOT_FOUND, same status, code and message.
void expect_missing(const http_reply& hidden, const http_reply& missing) {
  BOOST_TEST(missing.status == 404u, "a missing id: " << missing.raw);
  BOOST_TEST(error_code(missing) == "NOT_FOUND");
  BOOST_TEST(hidden.status == missing.status, hidden.raw << " vs " << missing.raw);
  BOOST_TEST(error_code(hidden) == error_code(missing));
  BOOST_TEST(error_message(hidden) == error_message(missing));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(visibility_test, visibility_fixture)

BOOST_AUTO_TEST_CASE(every_registered_procedure_has_an_entry) {
  std::set<std::string> in_table;
  for (const auto& e : entries) {
    BOOST_TEST(in_table.insert(e.path).second, e.path << " has two entries in the table");
    if (e.query)
      BOOST_TEST(bool(e.same), e.path << ": a query's entry says how the member's answer compares");
    else if (!e.is_public)
      BOOST_TEST(e.member_status != 0u, e.path << ": a mutation's entry names the member's status");
    BOOST_TEST(has(e.path), e.path << " has an entry in tests/integration/api/visibility_test.cpp"
                                      " but is not a registered procedure");
  }
  for (const auto& path : registered)
    BOOST_TEST(in_table.count(path) == 1u,
               path << " is registered but has no entry in the visibility table"
                       " (tests/integration/api/visibility_test.cpp, docs/projects.md)");
}

BOOST_AUTO_TEST_CASE(another_tenant_gets_not_found_as_for_a_missing_id) {
  build_world();
  auto before = snapshot_of_a();
  auto a_ids = a.ids();
  auto leaks = [&](const std::string& raw) {
    std::string found;
    for (const auto& id : a_ids)
      if (raw.find(id) != std::string::npos) found += " " + id;
    if (raw.find(a.slug) != std::string::npos) found += " '" + a.slug + "'";
    return found;
  };
  for (const auto* e : runnable()) {
    BOOST_TEST_CONTEXT(e->path) {
      if (e->ids.empty()) {
        auto r = call(*e, b.owner, e->input(b));
        BOOST_TEST(leaks(r.raw).empty(), "B's answer carries A's" << leaks(r.raw) << ": " << r.raw);
        continue;
      }
      auto a_input = e->input(a).as_object();
      for (const auto& f : e->ids) {
        BOOST_TEST_CONTEXT(e->path << " with A's " << f.name) {
          auto with_a = e->input(b).as_object();
          with_a[f.name] = a_input.at(f.name);
          auto with_missing = e->input(b).as_object();
          with_missing[f.name] = missing_like(f);
          auto crossed = call(*e, b.owner, with_a);
          auto missing = call(*e, b.owner, with_missing);
          expect_missing(crossed, missing);
        }
      }
    }
  }
  expect_unchanged(before);
}

BOOST_AUTO_TEST_CASE(a_plain_member_sees_what_the_author_created_but_private_notes) {
  build_world();
  auto private_markers =
      std::vector<std::string>{a.private_note, a.private_cited, a.slug + " owner private"};
  auto shows_private = [&](const std::string& raw) {
    for (const auto& m : private_markers)
      if (!m.empty() && raw.find(m) != std::string::npos) return true;
    return false;
  };
  // Reads first, on the world as built; then the mutations.
  for (const auto* e : runnable()) {
    if (!e->query) continue;
    BOOST_TEST_CONTEXT(e->path) {
      auto input = e->input(a);
      auto author = call(*e, a.owner, input);
      auto member = call(*e, a.member, input);
      auto admin = call(*e, a.admin, input);
      BOOST_TEST(!shows_private(member.raw), "the member sees the private note: " << member.raw);
      BOOST_TEST(!shows_private(admin.raw), "the admin sees the private note: " << admin.raw);
      BOOST_TEST(error_code(author) == e->author_error, "the author's answer: " << author.raw);
      BOOST_TEST(error_code(member) != "NOT_FOUND", member.raw);
      BOOST_TEST(e->same(author.body, member.body, a) == "");
    }
  }
  if (has("projects.healthCheck") && has("projects.notes.create")) {
    // The author's latest private activity shows in the author's lastActivityAt alone.
    auto last_activity = [&](const std::string& token) {
      return str(ok("projects.healthCheck", true, token, obj({{"id", a.project}})),
                 "lastActivityAt");
    };
    auto before = last_activity(a.member);
    ok("projects.notes.create", false, a.owner,
       obj({{"projectId", a.project},
            {"title", a.slug + " owner private late"},
            {"body", "late"},
            {"visibility", "private"}}));
    BOOST_TEST(last_activity(a.member) == before);
    BOOST_TEST(last_activity(a.admin) == before);
    BOOST_TEST(last_activity(a.owner) != before);
  }
  for (const auto* e : runnable()) {
    if (e->query || e->is_public) continue;
    BOOST_TEST_CONTEXT(e->path) {
      if (!e->note_field.empty()) {
        const auto& f = *std::find_if(e->ids.begin(), e->ids.end(),
                                      [&](const id_field& i) { return i.name == e->note_field; });
        auto with_private = e->input(a).as_object();
        with_private[f.name] = f.kind == id_kind::uuid_list
                                   ? json::value(json::array{json::value(a.private_note)})
                                   : json::value(a.private_note);
        auto with_missing = e->input(a).as_object();
        with_missing[f.name] = missing_like(f);
        for (const auto* token : {&a.member, &a.admin}) {
          auto priv = call(*e, *token, with_private);
          auto missing = call(*e, *token, with_missing);
          expect_missing(priv, missing);
        }
      }
      auto r = call(*e, a.member, e->input(a));
      BOOST_TEST(r.status == e->member_status, "the member on the author's objects: " << r.raw);
    }
  }
}

BOOST_AUTO_TEST_CASE(no_input_accepts_a_tenant_or_user_id) {
  build_world();
  auto before = snapshot_of_a();
  for (const auto* e : runnable()) {
    const std::vector<std::pair<std::string, std::string>> smuggled{{"tenantId", a.tenant_id},
                                                                    {"userId", a.member_id}};
    for (const auto& [key, value] : smuggled) {
      BOOST_TEST_CONTEXT(e->path << " with " << key) {
        auto input = e->input(a);
        if (input.is_null()) input = json::object{};
        input.as_object()[key] = value;
        auto r = call(*e, a.owner, input);
        BOOST_TEST(r.status == 400u, r.raw);
        BOOST_TEST(error_code(r) == "BAD_REQUEST");
        BOOST_TEST(error_message(r).find(key) != std::string::npos, r.raw);
      }
    }
  }
  expect_unchanged(before);
  // The refusal comes before any effect: an open invite refused with a tenantId still redeems.
  auto invite =
      ok("members.add", false, a.owner, obj({{"email", "late@acme.test"}, {"role", "member"}}));
  auto code = str(invite.at("invite"), "code");
  auto refused =
      mutate("invites.redeem", "",
             json::serialize(obj({{"code", code}, {"name", "L"}, {"tenantId", b.tenant_id}})));
  BOOST_TEST(refused.status == 400u);
  BOOST_TEST(
      mutate("invites.redeem", "", json::serialize(obj({{"code", code}, {"name", "L"}}))).status ==
      200u);
}

BOOST_AUTO_TEST_SUITE_END()
