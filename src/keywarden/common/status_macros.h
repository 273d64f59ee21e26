#ifndef KEYWARDEN_COMMON_STATUS_MACROS_H_
#define KEYWARDEN_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// KW_RETURN_IF_ERROR(expr): returns the status of `expr` from the enclosing
// function when it is not OK.
#define KW_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    ::absl::Status kw_status_ = (expr);               \
    if (!kw_status_.ok()) return kw_status_;          \
  } while (0)

#define KW_CONCAT_INNER_(a, b) a##b
#define KW_CONCAT_(a, b) KW_CONCAT_INNER_(a, b)

// KW_ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; on error
// returns its status, otherwise moves the value into `lhs` (which may be a
// declaration such as `auto x`).
#define KW_ASSIGN_OR_RETURN(lhs, expr) \
  KW_ASSIGN_OR_RETURN_IMPL_(KW_CONCAT_(kw_statusor_, __LINE__), lhs, expr)

#define KW_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // KEYWARDEN_COMMON_STATUS_MACROS_H_
