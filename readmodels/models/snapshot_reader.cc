#include "readmodels/models/snapshot_reader.h"

#include <cmath>

#include "readmodels/models/msgpack_fields.h"

namespace rill::readmodels {

void snapshot_reader::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why) + " at byte " + std::to_string(cur_.offset());
}

uint64_t snapshot_reader::u64() {
  uint64_t v = 0;
  if (ok() && !cur_.read_uint(v)) fail("expected an unsigned integer");
  return ok() ? v : 0;
}

double snapshot_reader::number() {
  double v = 0;
  if (ok() && (!cur_.read_number(v) || !std::isfinite(v))) fail("expected a finite number");
  return ok() ? v : 0;
}

bool snapshot_reader::boolean() {
  bool v = false;
  if (ok() && !cur_.read_bool(v)) fail("expected a boolean");
  return ok() && v;
}

std::string snapshot_reader::str() {
  std::string_view s;
  if (ok() && !cur_.read_str(s)) fail("expected a string");
  return ok() ? std::string(s) : std::string();
}

std::string snapshot_reader::optional_str(bool& has) {
  has = false;
  if (!ok()) return {};
  if (cur_.read_nil()) return {};
  has = true;
  return str();
}

uint32_t snapshot_reader::array() {
  uint32_t n = 0;
  if (ok() && !cur_.read_array_header(n)) fail("expected an array");
  if (ok() && n > cur_.remaining()) fail("array count larger than the snapshot");
  return ok() ? n : 0;
}

void snapshot_reader::header(std::string_view magic, uint64_t version) {
  if (array() != 2) fail("bad snapshot header");
  std::string m = str();
  uint64_t v = u64();
  if (!ok()) return;
  if (m != magic)
    fail("snapshot of '" + m.substr(0, 64) + "', expected '" + std::string(magic) + "'");
  else if (v != version)
    fail("unsupported snapshot format version " + std::to_string(v));
}

void snapshot_reader::expect_end() {
  if (ok() && !cur_.at_end()) fail("trailing bytes after the snapshot");
}

void write_header(packer& pk, std::string_view magic, uint64_t version) {
  pk.pack_array(2);
  pack_str(pk, magic);
  pk.pack_uint64(version);
}

void write_optional_str(packer& pk, bool has, std::string_view s) {
  if (has) {
    pack_str(pk, s);
  } else {
    pk.pack_nil();
  }
}

}  // namespace rill::readmodels
