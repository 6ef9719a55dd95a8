// Every identity procedure through the node's real route, against the real PostgreSQL:
// happy paths, permission denials, input validation and cross-tenant NOT_FOUND.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "identity/authenticator.hpp"
#include "identity/token.hpp"
#include "storage/database.hpp"
#include "telemetry/metrics.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace json = boost::json;
using nyxgate::testing::http_reply;
using nyxgate::testing::node_fixture;

namespace {

std::string error_code(const http_reply& r) {
  const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
  if (!e) return "";
  return std::string{e->at("data").at("code").as_string()};
}

const json::value& data(const http_reply& r) {
  return r.body.at("result").at("data");
}

std::string str(const json::value& v, std::string_view key) {
  return std::string{v.at(key).as_string()};
}

struct two_tenants : node_fixture {
  std::string owner_a = seed_tenant("acme", "owner@acme.test");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");
  std::string admin_a = add_user_with_token("acme", "admin@acme.test", "admin");
  std::string member_a = add_user_with_token("acme", "member@acme.test", "member");

  std::string user_id(const std::string& token) {
    auto r = query("tenants.current", token);
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    return str(data(r).at("user"), "id");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(identity_procedures_test, two_tenants)

BOOST_AUTO_TEST_CASE(tenants_current_answers_from_the_token) {
  auto r = query("tenants.current", owner_a);
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(str(data(r), "slug") == "acme");
  BOOST_TEST(str(data(r), "role") == "owner");
  BOOST_TEST(str(data(r).at("user"), "email") == "owner@acme.test");
  auto b = query("tenants.current", owner_b);
  BOOST_TEST(str(data(b), "slug") == "globex");
  BOOST_TEST(str(data(query("tenants.current", member_a)), "role") == "member");
}

BOOST_AUTO_TEST_CASE(missing_or_bad_token_is_unauthorized) {
  auto none = query("tenants.current", "");
  BOOST_TEST(none.status == 401u);
  BOOST_TEST(error_code(none) == "UNAUTHORIZED");
  auto bad = query("tenants.current", "ngt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  BOOST_TEST(bad.status == 401u);
  auto junk = request("GET", "/trpc/tenants.current", "not a token at all");
  BOOST_TEST(junk.status == 401u);
}

BOOST_AUTO_TEST_CASE(unknown_procedure_is_not_found_and_wrong_method_is_405) {
  auto r = query("tenants.nope", owner_a);
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(error_code(r) == "NOT_FOUND");
  auto m = mutate("tenants.current", owner_a);
  BOOST_TEST(m.status == 405u);
  auto q = query("members.add", owner_a, R"({"email":"x@y.z","role":"member"})");
  BOOST_TEST(q.status == 405u);
}

BOOST_AUTO_TEST_CASE(members_list_shows_only_own_tenant) {
  auto r = query("members.list", member_a);
  BOOST_REQUIRE(r.status == 200u);
  const auto& list = data(r).as_array();
  BOOST_TEST(list.size() == 3u);
  for (const auto& m : list) BOOST_TEST(str(m, "email").find("acme.test") != std::string::npos);
  BOOST_TEST(data(query("members.list", owner_b)).as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(members_add_by_admin_and_denials) {
  auto added =
      mutate("members.add", admin_a, R"({"email":"New@Acme.test","name":"N","role":"member"})");
  BOOST_TEST(added.status == 200u);
  BOOST_TEST(str(data(added), "email") == "new@acme.test");
  BOOST_TEST(str(data(added), "role") == "member");
  auto again = mutate("members.add", admin_a, R"({"email":"new@acme.test","role":"admin"})");
  BOOST_TEST(again.status == 409u);
  BOOST_TEST(error_code(again) == "CONFLICT");
  auto by_member = mutate("members.add", member_a, R"({"email":"z@acme.test","role":"member"})");
  BOOST_TEST(by_member.status == 403u);
  BOOST_TEST(error_code(by_member) == "FORBIDDEN");
  auto owner_by_admin = mutate("members.add", admin_a, R"({"email":"o@acme.test","role":"owner"})");
  BOOST_TEST(owner_by_admin.status == 403u);
  auto owner_by_owner = mutate("members.add", owner_a, R"({"email":"o@acme.test","role":"owner"})");
  BOOST_TEST(owner_by_owner.status == 200u);
  // A user may belong to several tenants.
  auto cross = mutate("members.add", owner_b, R"({"email":"new@acme.test","role":"member"})");
  BOOST_TEST(cross.status == 200u);
}

BOOST_AUTO_TEST_CASE(members_add_validates_input_and_names_the_field) {
  auto bad_role = mutate("members.add", owner_a, R"({"email":"a@b.c","role":"god"})");
  BOOST_TEST(bad_role.status == 400u);
  BOOST_TEST(error_code(bad_role) == "BAD_REQUEST");
  BOOST_TEST(bad_role.raw.find("role") != std::string::npos);
  auto wrong_type = mutate("members.add", owner_a, R"({"email":42,"role":"member"})");
  BOOST_TEST(wrong_type.status == 400u);
  BOOST_TEST(wrong_type.raw.find("email") != std::string::npos);
  auto unknown_key =
      mutate("members.add", owner_a, R"({"email":"a@b.c","role":"member","tenantId":"x"})");
  BOOST_TEST(unknown_key.status == 400u);
  BOOST_TEST(unknown_key.raw.find("tenantId") != std::string::npos);
  auto not_object = mutate("members.add", owner_a, R"([1,2])");
  BOOST_TEST(not_object.status == 400u);
  auto malformed = mutate("members.add", owner_a, R"({"email":)");
  BOOST_TEST(malformed.status == 400u);
  BOOST_TEST(error_code(malformed) == "PARSE_ERROR");
}

BOOST_AUTO_TEST_CASE(members_set_role_rules) {
  auto member_id = user_id(member_a);
  auto owner_id = user_id(owner_a);
  auto by_member =
      mutate("members.setRole", member_a, R"({"memberId":")" + member_id + R"(","role":"admin"})");
  BOOST_TEST(by_member.status == 403u);
  auto promote =
      mutate("members.setRole", admin_a, R"({"memberId":")" + member_id + R"(","role":"admin"})");
  BOOST_TEST(promote.status == 200u);
  BOOST_TEST(str(data(query("tenants.current", member_a)), "role") == "admin");
  auto to_owner_by_admin =
      mutate("members.setRole", admin_a, R"({"memberId":")" + member_id + R"(","role":"owner"})");
  BOOST_TEST(to_owner_by_admin.status == 403u);
  auto demote_owner_by_admin =
      mutate("members.setRole", admin_a, R"({"memberId":")" + owner_id + R"(","role":"member"})");
  BOOST_TEST(demote_owner_by_admin.status == 403u);
  auto demote_last_owner =
      mutate("members.setRole", owner_a, R"({"memberId":")" + owner_id + R"(","role":"admin"})");
  BOOST_TEST(demote_last_owner.status == 412u);
  BOOST_TEST(error_code(demote_last_owner) == "PRECONDITION_FAILED");
  auto bad_uuid = mutate("members.setRole", owner_a, R"({"memberId":"nope","role":"admin"})");
  BOOST_TEST(bad_uuid.status == 400u);
  BOOST_TEST(bad_uuid.raw.find("memberId") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(members_remove_rules_and_token_revocation) {
  auto member_id = user_id(member_a);
  auto owner_id = user_id(owner_a);
  BOOST_TEST(mutate("members.remove", member_a, R"({"memberId":")" + owner_id + R"("})").status ==
             403u);
  BOOST_TEST(mutate("members.remove", admin_a, R"({"memberId":")" + owner_id + R"("})").status ==
             403u);
  BOOST_TEST(mutate("members.remove", owner_a, R"({"memberId":")" + owner_id + R"("})").status ==
             412u);
  auto removed = mutate("members.remove", admin_a, R"({"memberId":")" + member_id + R"("})");
  BOOST_TEST(removed.status == 200u);
  BOOST_TEST(data(removed).at("removed").as_bool());
  BOOST_TEST(query("tenants.current", member_a).status == 401u);
  auto revoked = nyxgate::testing::sql(
      conninfo(), "SELECT count(*) FROM access_tokens WHERE revoked_at IS NOT NULL");
  BOOST_TEST(revoked.at(0).at(0) == "1");
}

BOOST_AUTO_TEST_CASE(tokens_create_list_revoke) {
  auto created = mutate("tokens.create", member_a, R"({"name":"laptop"})");
  BOOST_REQUIRE(created.status == 200u);
  auto token = str(data(created), "token");
  BOOST_TEST(token.rfind("ngt_", 0) == 0u);
  BOOST_TEST(query("tenants.current", token).status == 200u);
  auto list = query("tokens.list", member_a);
  BOOST_REQUIRE(list.status == 200u);
  BOOST_TEST(data(list).as_array().size() == 2u);  // the fixture's and the new one
  BOOST_TEST(list.raw.find(token) == std::string::npos);
  BOOST_TEST(list.raw.find("hash") == std::string::npos);
  // Only the caller's own tokens are listed.
  BOOST_TEST(data(query("tokens.list", owner_a)).as_array().size() == 1u);

  auto id = str(data(created), "id");
  auto revoke = mutate("tokens.revoke", token, R"({"id":")" + id + R"("})");
  BOOST_TEST(revoke.status == 200u);
  BOOST_TEST(query("tenants.current", token).status == 401u);
  BOOST_TEST(mutate("tokens.create", member_a, R"({"name":""})").status == 400u);
  BOOST_TEST(mutate("tokens.create", member_a, R"({})").status == 400u);
}

BOOST_AUTO_TEST_CASE(tokens_revoke_permissions) {
  auto created = mutate("tokens.create", owner_a, R"({"name":"ci"})");
  auto id = str(data(created), "id");
  // A member cannot revoke someone else's token: it is not theirs to see.
  auto by_member = mutate("tokens.revoke", member_a, R"({"id":")" + id + R"("})");
  BOOST_TEST(by_member.status == 404u);
  BOOST_TEST(error_code(by_member) == "NOT_FOUND");
  // An admin may revoke any token of the tenant.
  BOOST_TEST(mutate("tokens.revoke", admin_a, R"({"id":")" + id + R"("})").status == 200u);
}

BOOST_AUTO_TEST_CASE(another_tenants_ids_answer_not_found) {
  auto b_owner_id = user_id(owner_b);
  auto b_token = mutate("tokens.create", owner_b, R"({"name":"b"})");
  auto b_token_id = str(data(b_token), "id");
  auto set =
      mutate("members.setRole", owner_a, R"({"memberId":")" + b_owner_id + R"(","role":"member"})");
  BOOST_TEST(set.status == 404u);
  BOOST_TEST(error_code(set) == "NOT_FOUND");
  auto rm = mutate("members.remove", owner_a, R"({"memberId":")" + b_owner_id + R"("})");
  BOOST_TEST(rm.status == 404u);
  auto rv = mutate("tokens.revoke", owner_a, R"({"id":")" + b_token_id + R"("})");
  BOOST_TEST(rv.status == 404u);
  // Exactly as for an id that does not exist at all.
  auto missing =
      mutate("tokens.revoke", owner_a, R"({"id":"00000000-0000-4000-8000-000000000000"})");
  BOOST_TEST(missing.status == 404u);
  BOOST_TEST(query("tenants.current", str(data(b_token), "token")).status == 200u);
}

BOOST_AUTO_TEST_CASE(members_add_reveals_nothing_of_a_user_in_another_tenant) {
  add_user_with_token("globex", "secret@globex.test", "member");
  nyxgate::testing::sql(
      conninfo(), "UPDATE users SET name = 'Secret Person' WHERE email = 'secret@globex.test'");
  auto fresh = mutate("members.add", owner_a, R"({"email":"fresh@nowhere.test","role":"member"})");
  auto known = mutate("members.add", owner_a, R"({"email":"secret@globex.test","role":"member"})");
  BOOST_REQUIRE(fresh.status == 200u);
  BOOST_REQUIRE(known.status == 200u);
  // The answer is what the caller sent, shaped exactly as for an email nobody had.
  BOOST_TEST(known.raw.find("Secret Person") == std::string::npos);
  BOOST_TEST(str(data(known), "name") == str(data(fresh), "name"));
  BOOST_TEST(str(data(known), "email") == "secret@globex.test");
  BOOST_REQUIRE(data(known).as_object().size() == data(fresh).as_object().size());
  for (const auto& [k, v] : data(fresh).as_object())
    BOOST_TEST(data(known).as_object().contains(k), k);
  auto named =
      mutate("members.add", admin_a, R"({"email":"u@globex.test","name":"Sam","role":"member"})");
  BOOST_TEST(str(data(named), "name") == "Sam");
  // Nor does the tenant's member list show the other tenant's name afterwards.
  auto list = query("members.list", owner_a);
  BOOST_REQUIRE(list.status == 200u);
  BOOST_TEST(list.raw.find("Secret Person") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(revocation_on_one_node_reaches_another_at_once) {
  node_fixture other(conninfo(), master_key_file());
  auto extra = str(data(mutate("tokens.create", member_a, R"({"name":"second"})")), "token");
  // Both tokens are cached as valid on the other node.
  BOOST_REQUIRE(other.query("tokens.list", member_a).status == 200u);
  BOOST_REQUIRE(other.query("tenants.current", extra).status == 200u);
  auto tokens = query("tokens.list", member_a);
  std::string extra_id;
  for (const auto& t : data(tokens).as_array())
    if (str(t, "name") == "second") extra_id = str(t, "id");
  BOOST_REQUIRE(!extra_id.empty());

  auto started = std::chrono::steady_clock::now();
  BOOST_REQUIRE(mutate("tokens.revoke", member_a, R"({"id":")" + extra_id + R"("})").status ==
                200u);
  BOOST_TEST(nyxgate::testing::eventually(
      [&] { return other.query("tenants.current", extra).status == 401u; },
      std::chrono::milliseconds(2000)));
  BOOST_TEST(other.query("tenants.current", member_a).status == 200u);

  // A removed member's tokens stop on the other node as well.
  BOOST_REQUIRE(
      mutate("members.remove", owner_a, R"({"memberId":")" + user_id(member_a) + R"("})").status ==
      200u);
  // (tokens.list, unlike tenants.current, reads no membership: only the token decides.)
  BOOST_TEST(nyxgate::testing::eventually(
      [&] { return other.query("tokens.list", member_a).status == 401u; },
      std::chrono::milliseconds(2000)));
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(a_flood_of_one_unknown_token_costs_few_database_queries) {
  const std::string unknown = "ngt_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";
  const int n = 100;
  auto before = nyxgate::telemetry::metrics().db_queries.value();
  for (int i = 0; i < n; ++i) BOOST_TEST(query("tenants.current", unknown).status == 401u);
  auto queries = nyxgate::telemetry::metrics().db_queries.value() - before;
  BOOST_TEST(queries <= 5, queries << " database queries for " << n << " requests");
}

BOOST_AUTO_TEST_CASE(a_token_refused_as_unknown_works_once_its_negative_entry_expired) {
  // A token is random and shown only once it is stored, so nobody can present it earlier;
  // should a row appear for a hash already refused, the short TTL bounds the refusal.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  nyxgate::identity::authenticator::options o;
  o.negative_ttl = std::chrono::milliseconds(300);
  nyxgate::identity::authenticator auth(node().db(), io, o);
  auto token = nyxgate::identity::generate_token();
  const std::string header = "Bearer " + token;
  auto check = [&] {
    return boost::asio::co_spawn(io, auth.authenticate(header), boost::asio::use_future)
        .get()
        .status;
  };
  using nyxgate::identity::auth_status;
  BOOST_TEST((check() == auth_status::invalid));
  nyxgate::testing::sql(conninfo(),
                        "INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) "
                        "SELECT tenant_id, user_id, 'late', '" +
                            nyxgate::identity::sha256_hex(token) +
                            "' FROM access_tokens WHERE name = 'init' LIMIT 1");
  auto before = nyxgate::telemetry::metrics().db_queries.value();
  BOOST_TEST((check() == auth_status::invalid));  // from the negative cache
  BOOST_TEST(nyxgate::telemetry::metrics().db_queries.value() == before);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  BOOST_TEST((check() == auth_status::ok));
  work.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(invites_expire_and_only_owners_hand_out_an_owners_code) {
  auto anonymous = std::string{};
  auto added = mutate("members.add", owner_a, R"({"email":"late@acme.test","role":"member"})");
  BOOST_REQUIRE(added.status == 200u);
  auto code = str(data(added).at("invite"), "code");
  auto stored = nyxgate::testing::sql(conninfo(), "SELECT code_hash FROM invites");
  BOOST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored.at(0).at(0) == nyxgate::identity::sha256_hex(code));  // never the code
  nyxgate::testing::sql(conninfo(), "UPDATE invites SET expires_at = now() - interval '1 second'");
  auto expired = mutate("invites.redeem", anonymous, R"({"code":")" + code + R"(","name":"L"})");
  BOOST_TEST(expired.status == 404u);
  BOOST_TEST(error_code(expired) == "NOT_FOUND");

  auto owner2 = mutate("members.add", owner_a, R"({"email":"own2@acme.test","role":"owner"})");
  BOOST_REQUIRE(owner2.status == 200u);
  auto owner2_id = str(data(owner2), "userId");
  auto invite = [&](const std::string& token, const std::string& id) {
    return mutate("members.invite", token, R"({"memberId":")" + id + R"("})").status;
  };
  BOOST_TEST(invite(admin_a, owner2_id) == 403u);
  BOOST_TEST(invite(owner_a, owner2_id) == 200u);
  // Another tenant's member is NOT_FOUND, as a missing id is.
  BOOST_TEST(invite(owner_b, owner2_id) == 404u);
  // Members who hold a token already get no code: a code would let its holder act as them.
  BOOST_TEST(invite(owner_a, user_id(member_a)) == 412u);
}

BOOST_AUTO_TEST_CASE(batch_mixes_statuses_with_207) {
  auto r = request("GET",
                   "/trpc/tenants.current,tenants.nope?batch=1&input=" +
                       nyxgate::testing::url_encode(R"({"0":null,"1":null})"),
                   owner_a);
  BOOST_TEST(r.status == 207u);
  BOOST_REQUIRE(r.body.is_array());
  BOOST_TEST(str(r.body.at(0).at("result").at("data"), "slug") == "acme");
  BOOST_TEST(std::string{r.body.at(1).at("error").at("data").at("code").as_string()} ==
             "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(last_used_at_is_written_off_the_request_path) {
  BOOST_TEST(query("tenants.current", member_a).status == 200u);
  auto before = nyxgate::testing::sql(
      conninfo(), "SELECT count(*) FROM access_tokens WHERE last_used_at IS NOT NULL");
  BOOST_TEST(before.at(0).at(0) == "0");  // not written by the request itself
  node().authenticator().flush_blocking();
  auto after = nyxgate::testing::sql(
      conninfo(), "SELECT count(*) FROM access_tokens WHERE last_used_at IS NOT NULL");
  BOOST_TEST(after.at(0).at(0) != "0");
}

BOOST_AUTO_TEST_CASE(readyz_and_metrics) {
  auto ready = request("GET", "/readyz");
  BOOST_TEST(ready.status == 200u);
  BOOST_TEST(ready.body.at("schemaVersion").as_int64() ==
             ready.body.at("expectedSchemaVersion").as_int64());
  auto health = request("GET", "/healthz");
  BOOST_TEST(health.status == 200u);
  auto metrics = request("GET", "/metrics");
  BOOST_TEST(metrics.status == 200u);
  BOOST_TEST(metrics.raw.find("nyxgate_db_queries_total") != std::string::npos);
  BOOST_TEST(metrics.raw.find(owner_a) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
