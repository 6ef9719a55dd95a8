// The workflow kinds (docs/workflows.md, "Kinds in detail"): which calls an item makes, in
// which order and with which messages, what it produces, how long docs are cut into sections,
// and that a malformed item input never stops an item.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

#include "workflows/workflow.hpp"

using namespace nyxgate::workflows;
namespace json = boost::json;

namespace {

/// Joined by append: GCC 12 at -O3 warns falsely (-Wrestrict) on `"literal" + string`.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  ((out += parts), ...);
  return out;
}

/// Names every variable, so a test sees what reached the prompt.
constexpr std::string_view test_template =
    "P={{project.name}}\nN={{notes}}\nD={{doc}}\nL={{language}}";

run_context context(std::string ethics = "Be honest.", std::string language = "French") {
  return run_context{std::string{test_template}, std::move(ethics), "Nyx", std::move(language)};
}

/// Runs an item to its product, answering each call with `answer(step, index)`; the steps seen
/// go to `steps`.
template <class Answer>
item_product run_item(kind k, const run_context& run, const json::value& input,
                      std::size_t context_chars, std::vector<call_step>& steps, Answer answer) {
  std::vector<std::string> answers;
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = advance(k, run, input, answers, context_chars);
    if (auto* product = std::get_if<item_product>(&next)) return *product;
    auto& step = std::get<call_step>(next);
    answers.push_back(answer(step, answers.size()));
    steps.push_back(std::move(step));
  }
  BOOST_FAIL("the item never finished");
  return {};
}

const std::string& prompt_of(const call_step& s) {
  return s.messages.back().content;
}

std::string doc_of(const call_step& s) {
  const auto& p = prompt_of(s);
  auto from = p.find("\nD=") + 3;
  return p.substr(from, p.rfind("\nL=") - from);
}

const json::value notes_input = json::parse(R"({"notes": [
  {"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "title": "Failover", "body": "402 on primary."},
  {"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "title": "Leases", "body": "Renewed every third."}
]})");

/// A Markdown doc of several headed parts, each a few paragraphs.
std::string long_doc(int parts) {
  std::string doc;
  for (int i = 1; i <= parts; ++i) {
    doc += cat("## Part ", std::to_string(i), "\n\n");
    doc += cat("First paragraph of part ", std::to_string(i), ", with *emphasis*.\n\n");
    doc += "- a list item\n- another one\n\n";
  }
  return doc;
}

bool starts_mid_code_point(const std::string& s) {
  return !s.empty() && (static_cast<unsigned char>(s.front()) & 0xC0U) == 0x80U;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_kinds)

BOOST_AUTO_TEST_CASE(kind_names_are_those_of_the_api_and_the_database) {
  for (auto [k, name] :
       {std::pair{kind::blog, "blog"}, std::pair{kind::docs, "docs"},
        std::pair{kind::key_points, "keyPoints"}, std::pair{kind::translate, "translate"}}) {
    BOOST_TEST(to_string(k) == name);
    BOOST_TEST((kind_from_string(name) == k));
  }
  for (std::string_view bad : {"", "Blog", "keypoints", "key_points", "translation"})
    BOOST_TEST(!kind_from_string(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(run_context_round_trips_through_json) {
  run_context c{"T {{doc}}", "Be kind.", "Nyx \"gate\"", "Deutsch"};
  auto v = to_json(c);
  BOOST_TEST(json::serialize(v) ==
             R"({"template":"T {{doc}}","ethics":"Be kind.","projectName":"Nyx \"gate\"",)"
             R"("language":"Deutsch"})");
  auto back = run_context_of(json::parse(json::serialize(v)));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->template_text == c.template_text);
  BOOST_TEST(back->ethics == c.ethics);
  BOOST_TEST(back->project_name == c.project_name);
  BOOST_TEST(back->language == c.language);
}

BOOST_AUTO_TEST_CASE(run_context_needs_a_template_and_text_fields) {
  auto only_template = run_context_of(json::parse(R"({"template": "x"})"));
  BOOST_REQUIRE(only_template.has_value());
  BOOST_TEST(only_template->ethics.empty());
  for (std::string_view bad :
       {R"(null)", R"([])", R"("x")", R"({})", R"({"template": 1})",
        R"({"template": "x", "ethics": null})", R"({"template": "x", "language": ["fr"]})"})
    BOOST_TEST(!run_context_of(json::parse(bad)).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(blog_makes_one_call_over_its_notes_then_a_draft_citing_them) {
  std::vector<call_step> steps;
  auto post = run_item(kind::blog, context(), notes_input, 24000, steps, [](auto&, auto) {
    return "# Failover in the loop\n\nThe primary answered 402.\n\n## Leases\n\nRenewed.\n";
  });
  BOOST_REQUIRE_EQUAL(steps.size(), 1u);
  const auto& prompt = prompt_of(steps[0]);
  BOOST_TEST(prompt.find("P=Nyx") != std::string::npos);
  auto failover = prompt.find("Failover");
  auto primary = prompt.find("402 on primary.");
  auto leases = prompt.find("Leases");
  auto third = prompt.find("Renewed every third.");
  BOOST_TEST(
      (failover < primary && primary < leases && leases < third && third != std::string::npos));
  BOOST_TEST(post.title == "Failover in the loop");
  BOOST_TEST(post.body == "The primary answered 402.\n\n## Leases\n\nRenewed.");
  BOOST_TEST(
      post.source_note_ids == (std::vector<std::string>{"0f8fad5b-d9cb-469f-a165-70867728950e",
                                                        "7c9e6679-7425-40de-944b-e07fc1f90ae7"}),
      boost::test_tools::per_element());
  BOOST_TEST(!post.doc_id.has_value());
}

BOOST_AUTO_TEST_CASE(a_title_is_the_first_heading_or_the_first_line) {
  struct row {
    std::string answer, title, body;
  };
  for (const auto& r : std::vector<row>{
           {"\n\n### Deep title ###\nbody", "Deep title", "body"},
           {"Plain first line\n\nbody text\n", "Plain first line", "body text"},
           {"**Bold title**\nbody", "Bold title", "body"},
           {"Setext title\n============\n\nbody", "Setext title", "body"},
           {"# Only a title", "Only a title", ""},
       }) {
    std::vector<std::string> answers{r.answer};
    auto post = std::get<item_product>(advance(kind::blog, context(), notes_input, answers, 100));
    BOOST_TEST(post.title == r.title, r.answer);
    BOOST_TEST(post.body == r.body, r.answer);
  }
}

BOOST_AUTO_TEST_CASE(an_empty_or_overlong_title_still_fits_the_database) {
  std::vector<std::string> blank{"\n\n  \n"};
  auto post = std::get<item_product>(advance(kind::blog, context(), notes_input, blank, 100));
  BOOST_TEST(post.title == "Failover");  // the first note's title
  std::string long_title;
  for (int i = 0; i < 400; ++i) long_title += "é";
  std::vector<std::string> overlong{cat("# ", long_title, "\nbody")};
  post = std::get<item_product>(advance(kind::blog, context(), notes_input, overlong, 100));
  BOOST_TEST(post.title.size() == 600u);  // 300 characters of two bytes
  BOOST_TEST(!starts_mid_code_point(post.title.substr(post.title.size() - 2)));
}

BOOST_AUTO_TEST_CASE(docs_makes_one_call_and_refreshes_the_doc_it_names) {
  auto input = json::parse(R"({"notes": [{"id": "n", "title": "T", "body": "B"}],
                               "docId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                               "doc": "the doc as it is"})");
  std::vector<call_step> steps;
  auto doc = run_item(kind::docs, context(), input, 24000, steps,
                      [](auto&, auto) { return "# Refreshed\n\nNew text."; });
  BOOST_REQUIRE_EQUAL(steps.size(), 1u);
  BOOST_TEST(doc_of(steps[0]) == "the doc as it is");
  BOOST_TEST(doc.title == "Refreshed");
  BOOST_TEST(doc.body == "New text.");
  BOOST_TEST(doc.doc_id.value_or("") == "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
  BOOST_TEST(doc.source_note_ids.empty());

  steps.clear();
  auto fresh = run_item(kind::docs, context(), notes_input, 24000, steps,
                        [](auto&, auto) { return "# New doc\n\nText."; });
  BOOST_TEST(steps.size() == 1u);
  BOOST_TEST(!fresh.doc_id.has_value());
}

BOOST_AUTO_TEST_CASE(every_call_has_the_ethics_system_message_exactly_when_it_is_set) {
  auto doc_input = json::value{{"docId", "d"}, {"title", "Book"}, {"doc", long_doc(6)}};
  for (auto k : {kind::blog, kind::docs, kind::key_points, kind::translate}) {
    const auto& input = (k == kind::blog || k == kind::docs) ? notes_input : doc_input;
    for (std::string ethics : {std::string{"Never invent sources."}, std::string{}}) {
      std::vector<call_step> steps;
      run_item(k, context(ethics), input, 120, steps, [](auto&, auto) { return "# A\n\nb"; });
      BOOST_TEST_REQUIRE(!steps.empty());
      for (const auto& s : steps) {
        BOOST_TEST_CONTEXT(to_string(k) << " ethics '" << ethics << "'") {
          BOOST_TEST(s.messages.size() == (ethics.empty() ? 1u : 2u));
          if (!ethics.empty()) {
            BOOST_TEST(s.messages.front().role == "system");
            BOOST_TEST(s.messages.front().content == ethics);
          }
          BOOST_TEST(s.messages.back().role == "user");
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(key_points_of_a_short_doc_take_one_call_and_no_merge) {
  auto input = json::value{{"docId", "d"}, {"title", "Book"}, {"doc", long_doc(2)}};
  std::vector<call_step> steps;
  auto kp = run_item(kind::key_points, context(), input, 24000, steps,
                     [](auto&, auto) { return "- one point\n"; });
  BOOST_REQUIRE_EQUAL(steps.size(), 1u);
  BOOST_TEST(doc_of(steps[0]) == long_doc(2));
  BOOST_TEST(kp.title == "Key points: Book");
  BOOST_TEST(kp.body == "- one point");
  BOOST_TEST(!kp.doc_id.has_value());  // a new doc: the source stays as it is
}

BOOST_AUTO_TEST_CASE(key_points_of_a_long_doc_take_a_call_per_section_then_one_merge) {
  const auto doc = long_doc(12);
  auto input = json::value{{"docId", "d"}, {"title", "Book"}, {"doc", doc}};
  const std::size_t max = 150;
  auto sections = split_sections(doc, max);
  BOOST_REQUIRE_GT(sections.size(), 2u);
  std::vector<call_step> steps;
  auto kp = run_item(kind::key_points, context(), input, max, steps, [&](auto&, auto i) {
    return i < sections.size() ? cat("partial ", std::to_string(i)) : std::string{"merged"};
  });
  BOOST_REQUIRE_EQUAL(steps.size(), sections.size() + 1);
  for (std::size_t i = 0; i < sections.size(); ++i) BOOST_TEST(doc_of(steps[i]) == sections[i]);
  const auto& merge = steps.back();
  BOOST_REQUIRE_EQUAL(merge.messages.size(), 2u);
  BOOST_TEST(merge.messages.front().role == "system");
  const auto& prompt = prompt_of(merge);
  BOOST_TEST(prompt.find("Merge") != std::string::npos);
  std::size_t at = 0;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    auto found = prompt.find(cat("partial ", std::to_string(i)), at);
    BOOST_TEST_REQUIRE(found != std::string::npos, "partial " << i << " in order");
    at = found;
  }
  BOOST_TEST(kp.body == "merged");
  BOOST_TEST(kp.title == "Key points: Book");
}

BOOST_AUTO_TEST_CASE(key_points_too_long_to_merge_at_once_are_merged_in_fitting_groups) {
  const auto doc = long_doc(12);
  auto input = json::value{{"docId", "d"}, {"title", "Book"}, {"doc", doc}};
  const std::size_t max = 150;
  const auto sections = split_sections(doc, max).size();
  BOOST_REQUIRE_GT(sections, 4u);
  // Each answer is 60 bytes: two fit one call, three do not.
  auto answer_of = [](std::size_t i) {
    auto a = cat("answer ", std::to_string(i), " ");
    return a + std::string(60 - a.size(), 'x');
  };
  std::vector<call_step> steps;
  auto kp = run_item(kind::key_points, context(), input, max, steps,
                     [&](auto&, auto i) { return answer_of(i); });
  BOOST_REQUIRE_EQUAL(steps.size(), 2 * sections - 1);  // pairs: each merge saves one text
  std::vector<bool> merged(steps.size(), false);
  for (std::size_t i = sections; i < steps.size(); ++i) {
    const auto& prompt = prompt_of(steps[i]);
    BOOST_TEST(prompt.find("--- Part 2 ---") != std::string::npos);
    BOOST_TEST(prompt.find("--- Part 3 ---") == std::string::npos);
    std::size_t parts = 0;
    for (std::size_t earlier = 0; earlier < i; ++earlier)
      if (prompt.find(cat(answer_of(earlier), "\n")) != std::string::npos ||
          prompt.ends_with(answer_of(earlier))) {
        BOOST_TEST(!merged[earlier], "answer " << earlier << " merged twice");
        merged[earlier] = true;
        ++parts;
      }
    BOOST_TEST(parts == 2u, "merge call " << i);
  }
  BOOST_TEST(kp.body == answer_of(steps.size() - 1));
  BOOST_TEST(std::count(merged.begin(), merged.end(), false) == 1);  // only the final merge
}

BOOST_AUTO_TEST_CASE(translate_calls_each_section_in_order_and_joins_the_answers) {
  const auto doc = cat("# Title\n\n", long_doc(10), "```\n# code, no heading\n\nx = 1\n```\n");
  auto input = json::value{{"docId", "d"}, {"title", "Book"}, {"doc", doc}};
  const std::size_t max = 120;
  auto sections = split_sections(doc, max);
  BOOST_REQUIRE_GT(sections.size(), 2u);
  std::vector<call_step> steps;
  // The model echoes each section without its surrounding blank lines, as models do.
  auto tr = run_item(kind::translate, context(), input, max, steps,
                     [](auto& step, auto) { return cat("\n", doc_of(step), "\n\n\n"); });
  BOOST_REQUIRE_EQUAL(steps.size(), sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    BOOST_TEST(doc_of(steps[i]) == sections[i]);
    BOOST_TEST(prompt_of(steps[i]).ends_with("L=French"));
  }
  BOOST_TEST(tr.body == doc);  // headings, lists, code and breaks kept
  BOOST_TEST(tr.title == "Book (French)");
  BOOST_TEST(!tr.doc_id.has_value());

  steps.clear();
  auto upper = run_item(kind::translate, context(), input, max, steps,
                        [](auto&, auto i) { return cat("[", std::to_string(i), "]"); });
  std::string expected;
  for (std::size_t i = 0; i < sections.size(); ++i)
    expected += cat("[", std::to_string(i), "]", i + 1 < sections.size() ? "\n\n" : "\n");
  BOOST_TEST(upper.body == expected);
}

BOOST_AUTO_TEST_CASE(a_continuation_repeats_the_step_then_the_partial_answer) {
  call_step step{{{"system", "ethics"}, {"user", "write"}}};
  auto next = continuation(step, "half an ans");
  BOOST_REQUIRE_EQUAL(next.messages.size(), 4u);
  BOOST_TEST(next.messages[0].role == "system");
  BOOST_TEST(next.messages[1].content == "write");
  BOOST_TEST(next.messages[2].role == "assistant");
  BOOST_TEST(next.messages[2].content == "half an ans");
  BOOST_TEST(next.messages[3].role == "user");
  BOOST_TEST(next.messages[3].content.find("Continue") == 0u);
}

BOOST_AUTO_TEST_CASE(sections_prefer_headings_then_paragraphs_then_lines) {
  BOOST_TEST(split_sections("", 10).empty());
  BOOST_TEST(split_sections("short", 10) == std::vector<std::string>{"short"},
             boost::test_tools::per_element());
  auto by_heading = split_sections("# A\naaaa\n# B\nbbbb\n", 12);
  BOOST_TEST(by_heading == (std::vector<std::string>{"# A\naaaa\n", "# B\nbbbb\n"}),
             boost::test_tools::per_element());
  auto by_paragraph = split_sections("# A\n\npara one\n\npara two\n", 16);
  BOOST_TEST(by_paragraph == (std::vector<std::string>{"# A\n\npara one\n\n", "para two\n"}),
             boost::test_tools::per_element());
  auto by_line = split_sections("line one\nline two\nline three\n", 20);
  BOOST_TEST(by_line == (std::vector<std::string>{"line one\nline two\n", "line three\n"}),
             boost::test_tools::per_element());
  auto fenced = split_sections("```\n# not a heading\n```\n# H\n", 26);
  BOOST_TEST(fenced == (std::vector<std::string>{"```\n# not a heading\n```\n", "# H\n"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_section_without_any_break_is_cut_between_code_points) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "日本語é";  // 3, 3, 3 and 2 bytes
  auto sections = split_sections(text, 10);
  std::string joined;
  for (const auto& s : sections) {
    BOOST_TEST(s.size() <= 10u);
    BOOST_TEST(!s.empty());
    BOOST_TEST(!starts_mid_code_point(s));
    joined += s;
  }
  BOOST_TEST(joined == text);
  auto tiny = split_sections("日本", 0);  // no bound below one code point
  BOOST_TEST(tiny == (std::vector<std::string>{"日", "本"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sections_join_back_to_the_text_and_fit_whatever_the_text) {
  const std::vector<std::string> atoms{"# Heading\n",
                                       "## Sub\n",
                                       "Some words ",
                                       "ü",
                                       "日本",
                                       "\n",
                                       "\n\n",
                                       "```\n# c\n\n```\n",
                                       "- item\n",
                                       "x",
                                       std::string(70, 'y'),
                                       "  ",
                                       "\r\n",
                                       "####### not\n"};
  std::mt19937 rng(25);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    auto n = rng() % 60;
    for (std::size_t i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
    auto max = static_cast<std::size_t>(rng() % 120);
    auto sections = split_sections(text, max);
    std::string joined;
    for (const auto& s : sections) {
      BOOST_TEST_REQUIRE(!s.empty());
      BOOST_TEST_REQUIRE(s.size() <= std::max<std::size_t>(max, 4), text << " max " << max);
      BOOST_TEST_REQUIRE(!starts_mid_code_point(s), text << " max " << max);
      joined += s;
    }
    BOOST_TEST_REQUIRE(joined == text, "max " << max);
    if (text.size() <= max) BOOST_TEST_REQUIRE(sections.size() <= 1u);
  }
}

BOOST_AUTO_TEST_CASE(a_malformed_item_input_is_empty_material_not_a_crash) {
  const std::vector<std::string> malformed{
      R"(null)",
      R"([1, 2])",
      R"("text")",
      R"({})",
      R"({"notes": "not a list", "doc": 42, "title": ["x"], "docId": 7})",
      R"({"notes": [1, null, "x", {"id": 5, "title": 6}, {"title": "Kept", "body": null}]})",
  };
  for (const auto& text : malformed) {
    auto input = json::parse(text);
    for (auto k : {kind::blog, kind::docs, kind::key_points, kind::translate}) {
      BOOST_TEST_CONTEXT(to_string(k) << " " << text) {
        std::vector<call_step> steps;
        auto product = run_item(k, context(), input, 100, steps,
                                [](auto&, auto) { return std::string{"# T\n\nb"}; });
        BOOST_TEST(steps.size() <= 1u);
        BOOST_TEST(!product.title.empty());
        BOOST_TEST(product.source_note_ids.empty());
        BOOST_TEST(!product.doc_id.has_value());
      }
    }
  }
  auto kept = json::parse(R"({"notes": [{"title": "Kept", "body": null}]})");
  auto step = std::get<call_step>(advance(kind::blog, context(), kept, {}, 100));
  BOOST_TEST(prompt_of(step).find("Kept") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
