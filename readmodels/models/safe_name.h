#pragma once
// Turning untrusted ids (campaign and customer ids: any UTF-8 up to the
// core's id limit) into safe pieces of file names and Message-IDs.
//
// safe_file_name: keeps [A-Za-z0-9_-] and '.' (except as the first byte);
// every other byte becomes %HH (so '/', NUL, '%', a leading '.', spaces and
// non-ASCII are escaped). The mapping is injective, the result is never "",
// "." or "..", and never contains '/'. A result longer than 200 bytes is cut
// to 180 and gets "~" and 16 hex digits of the id's XXH3 hash (a '~' cannot
// appear otherwise), so names stay unique and under NAME_MAX with room for
// a suffix.
//
// safe_msgid_part: the same idea for the dot-atom-text of a Message-ID
// (RFC 5322 3.6.4): keeps [A-Za-z0-9_-], every other byte becomes =HH, so the
// '.' and '@' of "<campaign.customer@rill>" stay unambiguous.
// Thread-safety: pure functions; thread-safe.
#include <string>
#include <string_view>

namespace rill::readmodels {

std::string safe_file_name(std::string_view id);
std::string safe_msgid_part(std::string_view id);

}  // namespace rill::readmodels
