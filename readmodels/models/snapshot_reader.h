#pragma once
// snapshot_reader: reads a model's saved state (its save() output) back,
// value by value, without building a msgpack object tree and without throwing.
//
// Every read checks the type and bounds; the first failure makes the reader
// "failed" for good (later reads return empty values), so load() code reads
// straight through and checks ok() once at the end, like a stream. Container
// counts larger than the bytes left fail at once, so a corrupt count cannot
// make load() reserve gigabytes.
//
// Every model's snapshot starts with its header: [magic str, format version
// uint] (write_header / read_header), then the model's own fields.
//
// Borrows the bytes, which must outlive it. Thread-safety: not thread-safe.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/msgpack_cursor.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class snapshot_reader {
 public:
  explicit snapshot_reader(std::span<const char> bytes) : cur_(bytes) {}

  uint64_t u64();
  double number();
  bool boolean();
  std::string str();
  // A str, or nil (returned as has = false).
  std::string optional_str(bool& has);
  // True (and consumed) when the next value is nil; false otherwise.
  bool nil() { return ok() && cur_.read_nil(); }
  // Array header; the count is checked against the bytes left.
  uint32_t array();

  // Checks magic and version written by write_header.
  void header(std::string_view magic, uint64_t version);
  // Fails unless every byte was read.
  void expect_end();
  void fail(std::string why);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  msgpack_cursor cur_;
  std::string error_;
};

// Writes the header snapshot_reader::header checks.
void write_header(packer& pk, std::string_view magic, uint64_t version);
// Writes s, or nil when has is false.
void write_optional_str(packer& pk, bool has, std::string_view s);

}  // namespace rill::readmodels
