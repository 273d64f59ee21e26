#ifndef KEYWARDEN_STORE_SQL_TAGS_CODEC_H_
#define KEYWARDEN_STORE_SQL_TAGS_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace keywarden::store::sql_internal {

// Tags are stored in one TEXT column as a JSON array of strings
// (docs/formats/storage-schema.md): readable with the sqlite3 shell and
// queryable with SQLite's json_each(), and correct for any tag content, so
// the store does not depend on the API's rule that tags exclude , < > : & |.
//
// EncodeTags escapes `"`, `\` and control characters (as \uXXXX); other
// bytes are copied unchanged.
std::string EncodeTags(const std::vector<std::string>& tags);

// Decodes what EncodeTags wrote (and any JSON array of strings); anything
// else is DataLoss, since it means the row was damaged or written by
// something else.
absl::StatusOr<std::vector<std::string>> DecodeTags(std::string_view json);

}  // namespace keywarden::store::sql_internal

#endif  // KEYWARDEN_STORE_SQL_TAGS_CODEC_H_
