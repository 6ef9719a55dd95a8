// Prompt templates (docs/workflows.md, "Templates in detail"): what check_template refuses and
// where, what render_template inserts, and that the built-in defaults are templates a tenant
// could have saved.
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

#include "workflows/templates.hpp"

using namespace nyxgate::workflows;

namespace {

std::string error_of(std::string_view text) {
  auto e = check_template(text);
  return e ? e->message : std::string{"accepted"};
}

template_vars every_variable() {
  template_vars v;
  v.ethics = "ETHICS";
  v.project_name = "PROJECT";
  v.notes = "NOTES";
  v.doc = "DOC";
  v.language = "LANGUAGE";
  return v;
}

constexpr kind all_kinds[] = {kind::blog, kind::docs, kind::key_points, kind::translate};

}  // namespace

BOOST_AUTO_TEST_SUITE(templates)

BOOST_AUTO_TEST_CASE(every_error_names_its_problem_and_line) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "empty template"},
      {" \n\t\r\n ", "empty template"},
      {"Summarise:\n{{foo}}", "unknown variable {{foo}} at line 2"},
      {"a\nb\n{{ Notes }}", "unknown variable {{Notes}} at line 3"},
      {"{{project}}", "unknown variable {{project}} at line 1"},
      {"Notes:\n\n{{notes", "{{ without a closing }} at line 3"},
      {"{{notes\n}}", "{{ without a closing }} at line 1"},
      {"ok {{notes}}\nthen }} here", "}} without an opening {{ at line 2"},
      {"x }}{{notes}}", "}} without an opening {{ at line 1"},
      {"a\n{{ {{notes}} }}", "nested braces in {{ {{notes}} at line 2"},
      {"{{{notes}}}", "nested braces in {{{notes}} at line 1"},
      {"{{no}tes}}", "nested braces in {{no}tes}} at line 1"},
      {"a\nb\nc\n{{}}", "empty variable {{}} at line 4"},
      {"{{   }}", "empty variable {{}} at line 1"},
  };
  for (const auto& [text, message] : cases) BOOST_TEST(error_of(text) == message, text);
}

BOOST_AUTO_TEST_CASE(the_first_problem_is_the_one_reported) {
  BOOST_TEST(error_of("{{bar}}\n{{baz") == "unknown variable {{bar}} at line 1");
}

BOOST_AUTO_TEST_CASE(every_variable_single_braces_and_inner_blanks_are_accepted) {
  for (std::string_view name : template_variables) {
    auto plain = "{{" + std::string{name} + "}}";
    BOOST_TEST(error_of(plain) == "accepted", plain);
    auto spaced = "{{ \t" + std::string{name} + "  }}";
    BOOST_TEST(error_of(spaced) == "accepted", spaced);
  }
  BOOST_TEST(error_of("Answer as JSON {\"title\": \"...\"} from {{notes}}.") == "accepted");
  BOOST_TEST(error_of("a } b { c") == "accepted");
}

BOOST_AUTO_TEST_CASE(render_inserts_every_variable) {
  auto out = render_template(
      "e={{ethics}} p={{project.name}} n={{notes}} d={{doc}} l={{language}} again={{ notes }}",
      every_variable());
  BOOST_TEST(out == "e=ETHICS p=PROJECT n=NOTES d=DOC l=LANGUAGE again=NOTES");
}

BOOST_AUTO_TEST_CASE(render_keeps_text_around_and_multiline) {
  auto out = render_template("# {{project.name}}\n\n{a} }\n{{doc}}\nend\n", every_variable());
  BOOST_TEST(out == "# PROJECT\n\n{a} }\nDOC\nend\n");
  BOOST_TEST(render_template("no variables", every_variable()) == "no variables");
}

BOOST_AUTO_TEST_CASE(values_are_inserted_verbatim_not_expanded_again) {
  auto v = every_variable();
  v.notes = "a note that says {{doc}} and {{notes}} and }} and {{";
  v.doc = "{{language}}";
  auto out = render_template("[{{notes}}] [{{doc}}] [{{language}}]", v);
  BOOST_TEST(out ==
             "[a note that says {{doc}} and {{notes}} and }} and {{] [{{language}}] [LANGUAGE]");
}

BOOST_AUTO_TEST_CASE(an_empty_value_leaves_nothing) {
  template_vars v;
  BOOST_TEST(render_template("<{{ethics}}>{{notes}}<{{language}}>", v) == "<><>");
}

BOOST_AUTO_TEST_CASE(defaults_pass_the_check_and_name_their_material) {
  for (auto k : all_kinds) {
    auto text = default_template(k);
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(k)) {
      BOOST_TEST(error_of(text) == "accepted");
      auto out = render_template(text, every_variable());
      BOOST_TEST(out.find("{{") == std::string::npos, out);
      BOOST_TEST(out.find("PROJECT") != std::string::npos);
      BOOST_TEST(text.find("{{project.name}}") != std::string_view::npos);
    }
  }
  auto names = [](kind k, std::string_view var) {
    return default_template(k).find(var) != std::string_view::npos;
  };
  BOOST_TEST(names(kind::blog, "{{notes}}"));
  BOOST_TEST(names(kind::docs, "{{notes}}"));
  BOOST_TEST(names(kind::docs, "{{doc}}"));
  BOOST_TEST(names(kind::key_points, "{{doc}}"));
  BOOST_TEST(names(kind::translate, "{{doc}}"));
  BOOST_TEST(names(kind::translate, "{{language}}"));
  BOOST_TEST(!names(kind::blog, "{{doc}}"));
  BOOST_TEST(!names(kind::key_points, "{{notes}}"));
}

BOOST_AUTO_TEST_CASE(defaults_ask_for_what_each_kind_produces) {
  BOOST_TEST(default_template(kind::blog).find("# Title") != std::string_view::npos);
  BOOST_TEST(default_template(kind::docs).find("# Title") != std::string_view::npos);
  BOOST_TEST(default_template(kind::key_points).find("bullets") != std::string_view::npos);
  BOOST_TEST(default_template(kind::translate).find("translation only") != std::string_view::npos);
}

BOOST_AUTO_TEST_SUITE_END()
