#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "workflows/workflow.hpp"

/// Prompt templates: text with `{{variable}}` placeholders (docs/workflows.md, "Templates").
/// Built-in defaults per kind; a tenant may override them (templates.update), and a template
/// is checked when it is saved, so a run never meets a broken one.
namespace nyxgate::workflows {

/// The variables a template may name.
inline constexpr std::string_view template_variables[] = {"ethics", "project.name", "notes",
                                                          "doc", "language"};

/// Why a template cannot be saved: an unknown variable, an unbalanced `{{` or `}}`, empty text.
/// `message` names the problem and where (`unknown variable {{foo}} at line 3`).
struct template_error {
  std::string message;
};
std::optional<template_error> check_template(std::string_view text);

/// The text with every variable replaced (values are inserted as they are: no recursion).
/// Expects a text `check_template` accepted.
std::string render_template(std::string_view text, const template_vars& vars);

/// The built-in template of a kind.
std::string_view default_template(kind k);

}  // namespace nyxgate::workflows
