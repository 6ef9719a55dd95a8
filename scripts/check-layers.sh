#!/usr/bin/env bash
# The layering rules of docs/architecture.md ("Layers"), checked by grep: which folder may
# include which, SQL text only in storage/, and comments and documents that describe the
# present rather than narrate history. Run by the test command; exits non-zero on any hit.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

failed=0
report() {  # report RULE HITS
  [[ -z $2 ]] && return
  failed=1
  printf '%s\n%s\n\n' "check-layers: $1" "$2"
}

sources() { git ls-files -- "$@" | grep -E '\.(cpp|hpp)$'; }

# includes_of FOLDER ALLOWED_REGEX: the project includes under FOLDER that ALLOWED_REGEX does
# not match (system and library includes use <>, ours use "").
includes_of() {
  local files
  files=$(sources "$1/")
  [[ -z $files ]] && return
  grep -nE '^#include "' $files | grep -vE "#include \"($2)"
}

# Each layer and what it may include (its own folder always).
report "runtime/ includes only runtime/ and telemetry/" \
  "$(includes_of runtime 'runtime/|telemetry/')"
report "net/ is transport: it includes only net/, runtime/, telemetry/" \
  "$(includes_of net 'net/|runtime/|telemetry/')"
report "providers/ includes only providers/ and telemetry/json_escape.hpp" \
  "$(includes_of providers 'providers/|telemetry/json_escape\.hpp')"
report "workflows/ is pure: it includes only workflows/" \
  "$(includes_of workflows 'workflows/')"
report "storage/ includes no actors/, identity/, net/, api/, app/" \
  "$(includes_of storage 'storage/|runtime/|telemetry/|security/|config/|providers/key_status\.hpp')"
report "actors/ includes neither net/ nor api/ nor app/" \
  "$(includes_of actors 'actors/|runtime/|providers/|workflows/|storage/|telemetry/|security/|identity/|config/')"
report "identity/ includes only identity/, storage/, security/, telemetry/" \
  "$(includes_of identity 'identity/|storage/|security/|telemetry/')"
report "security/, telemetry/ and config/ include nothing of ours" \
  "$(includes_of security 'security/|telemetry/')$(includes_of telemetry 'telemetry/')$(includes_of config 'config/')"
report "api/ includes no app/" "$(includes_of api '(api|net|runtime|actors|providers|workflows|storage|telemetry|security|identity|config)/')"

# SQL statements are written in storage/ only (its repositories); tests and benchmarks seed
# their own databases.
sql='"[^"]*\b(SELECT [^"]*FROM|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|LISTEN |UNLISTEN|NOTIFY |pg_notify|CREATE (TABLE|INDEX)|ALTER TABLE|COPY [a-z_]+ ?\()'
report "SQL text outside storage/" \
  "$(git ls-files -- '*.cpp' '*.hpp' | grep -vE '^(storage|tests|benchmarks|fuzz)/' |
    xargs grep -nE "$sql" 2>/dev/null)"

# Comments and documents describe the present (STYLE rule 13); git keeps the story.
ordinal='(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)'
history="\\b$ordinal[- ](session|round)\\b|\\b(session|round) [0-9]+\\b|\\bissue [0-9]+\\b"
history+='|\b(previously|formerly|originally)\b|\bused to (be|do|run|read|go|take|hold|live|cost)\b'
history+='|\b(was|were) (moved|renamed|replaced|removed|rewritten)\b|\bwent from\b'
history+='|\b(before|after) this change\b|\bthis change set\b|\(was [0-9+−-]'
report "history narrated in a comment or document" \
  "$(git ls-files -- '*.cpp' '*.hpp' '*.sh' '*.md' '*.mjs' '*.lua' '*.txt' '*.toml' |
    grep -vE '^(benchmarks/results/|tests/e2e/node_modules/)|^scripts/check-layers\.sh$' |
    xargs grep -niE "$history" 2>/dev/null)"

# Measurements belong in benchmarks/README.md, not in code comments.
report "a measurement in a code comment (put it in benchmarks/README.md)" \
  "$(git ls-files -- '*.cpp' '*.hpp' 'CMakeLists.txt' '*/CMakeLists.txt' |
    xargs grep -nE '(//|#).*([0-9] ?% (req/s|of a call|faster|slower|more|less|fewer|of its)|req/s|µs per (row|call))' 2>/dev/null)"

if ((failed)); then
  echo "check-layers: FAILED (docs/architecture.md, \"Layers\", has the rules)" >&2
  exit 1
fi
echo "check-layers: ok"
