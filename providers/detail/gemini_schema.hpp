#pragma once
// Gemini's Schema (an OpenAPI subset) from a client's JSON Schema (providers/gemini_schema.cpp),
// for the Google adapter's tools and responseSchema.

#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

#include "providers/chat.hpp"

namespace nyxgate::providers::detail {

/// The 400 for a field Google cannot take: `where` names it, `why` (may be empty) says what
/// about its value.
request_error refused_by_google(std::string where, std::string_view why = {});

/// `schema` (JSON Schema text) in Gemini's subset: the keywords Gemini knows kept as they are,
/// annotations, `additionalProperties: false` and empty `$defs` dropped, `type: [t, "null"]` as
/// `type: t, nullable: true`, a string `const` as a one-value `enum`. Error: the refusal naming the
/// first keyword Gemini cannot take by its full path, `where` + "." + its path in the schema
/// ("tools[0].function.parameters.properties.tags.uniqueItems").
std::variant<boost::json::value, request_error> gemini_schema(std::string_view schema,
                                                              std::string_view where);

}  // namespace nyxgate::providers::detail
