#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storage/uuid.hpp"

/// Access-token primitives. The database keeps only sha256_hex(token); the token itself is shown
/// once, at creation.
namespace nyxgate::identity {

/// "ngt_" + 43 chars of base64url (no padding) from 32 bytes of RAND_bytes. Throws
/// std::runtime_error if the system's random source fails.
std::string generate_token();

/// An invite code: "ngi_" and the same 256 random bits as a token, so that neither can pass for
/// the other. Stored as sha256_hex only. Throws as generate_token().
std::string generate_invite_code();

/// The shape generate_token() produces: prefix, length, alphabet, canonical last character.
bool looks_like_token(std::string_view s);

/// SHA-256 as 64 lower-case hex characters.
std::string sha256_hex(std::string_view data);

/// Equality in time independent of where the inputs differ (CRYPTO_memcmp); different lengths
/// compare unequal.
bool constant_time_equal(std::string_view a, std::string_view b);

/// "Bearer <token>" (scheme case-insensitive, one or more spaces or tabs, surrounding whitespace
/// ignored) → the token, a view into `authorization`; anything else nullopt.
std::optional<std::string_view> parse_bearer(std::string_view authorization);

/// 32 lower-case hex characters for x-request-id: random but cheap (a per-thread generator
/// seeded once from RAND_bytes), not a secret.
std::string new_request_id();

/// A random (version 4) UUID, lower-case 8-4-4-4-12, from RAND_bytes.
std::string new_uuid();

using storage::is_uuid;

}  // namespace nyxgate::identity
