#include "readmodels/runtime_journal_stats.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace rill::readmodels {

namespace {

constexpr uint32_t kSaveVersion = 1;

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

absl::string_view av(std::string_view s) {
  return {s.data(), s.size()};
}

const msgpack::object* field(const msgpack::object& map, std::string_view name) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == name)
      return &kv.val;
  }
  return nullptr;
}

bool str_of(const msgpack::object* o, std::string_view& out) {
  if (o == nullptr || o->type != msgpack::type::STR) return false;
  out = {o->via.str.ptr, o->via.str.size};
  return true;
}

bool uint_of(const msgpack::object& o, uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return false;
  out = o.via.u64;
  return true;
}

}  // namespace

void journal_stats::apply(const event_view& e, change_set& changed) {
  key_.assign(e.agg);
  key_.push_back('\0');
  key_.append(e.id);
  entry& en = by_agg_[key_];
  ++en.events;
  en.ver = e.ver;
  en.last_seq = e.seq;
  if (en.last_type != e.type) en.last_type.assign(e.type);
  auto it = by_type_.find(av(e.type));
  if (it == by_type_.end()) it = by_type_.emplace(std::string(e.type), 0).first;
  ++it->second;
  ++events_;
  key_[e.agg.size()] = '/';
  changed.add(key_);
}

errc journal_stats::query(std::string_view q, const msgpack::object& args, packer& pk,
                          std::string& message) const {
  if (q == "get") {
    std::string_view agg, id;
    if (!str_of(field(args, "agg"), agg) || !str_of(field(args, "id"), id)) {
      message = "get needs string args agg and id";
      return errc::bad_request;
    }
    std::string key(agg);
    key.push_back('\0');
    key.append(id);
    const auto it = by_agg_.find(key);
    if (it == by_agg_.end()) {
      message = "no events for " + std::string(agg) + "/" + std::string(id);
      return errc::not_found;
    }
    pk.pack_map(6);
    pack_str(pk, "agg");
    pack_str(pk, agg);
    pack_str(pk, "id");
    pack_str(pk, id);
    pack_str(pk, "events");
    pk.pack_uint64(it->second.events);
    pack_str(pk, "ver");
    pk.pack_uint64(it->second.ver);
    pack_str(pk, "last_seq");
    pk.pack_uint64(it->second.last_seq);
    pack_str(pk, "last_type");
    pack_str(pk, it->second.last_type);
    return errc::ok;
  }
  if (q == "totals") {
    std::vector<std::pair<std::string_view, uint64_t>> types;
    for (const auto& [t, n] : by_type_) types.emplace_back(t, n);
    std::sort(types.begin(), types.end());
    pk.pack_map(3);
    pack_str(pk, "events");
    pk.pack_uint64(events_);
    pack_str(pk, "aggregates");
    pk.pack_uint64(by_agg_.size());
    pack_str(pk, "types");
    pk.pack_map(static_cast<uint32_t>(types.size()));
    for (const auto& [t, n] : types) {
      pack_str(pk, t);
      pk.pack_uint64(n);
    }
    return errc::ok;
  }
  if (q == "digest") {
    out_buffer buf;
    save(buf);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(buf.data(), buf.size())));
    pk.pack_map(3);
    pack_str(pk, "digest");
    pack_str(pk, hex);
    pack_str(pk, "events");
    pk.pack_uint64(events_);
    pack_str(pk, "aggregates");
    pk.pack_uint64(by_agg_.size());
    return errc::ok;
  }
  message = "journal_stats answers get, totals, digest";
  return errc::unknown_query;
}

// [version, events, [[key, events, ver, last_seq, last_type]...], [[type, n]...]]
// with both lists sorted by key.
void journal_stats::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(4);
  pk.pack_uint32(kSaveVersion);
  pk.pack_uint64(events_);
  std::vector<const std::pair<const std::string, entry>*> aggs;
  aggs.reserve(by_agg_.size());
  for (const auto& kv : by_agg_) aggs.push_back(&kv);
  std::sort(aggs.begin(), aggs.end(), [](auto* a, auto* b) { return a->first < b->first; });
  pk.pack_array(static_cast<uint32_t>(aggs.size()));
  for (const auto* kv : aggs) {
    pk.pack_array(5);
    pack_str(pk, kv->first);
    pk.pack_uint64(kv->second.events);
    pk.pack_uint64(kv->second.ver);
    pk.pack_uint64(kv->second.last_seq);
    pack_str(pk, kv->second.last_type);
  }
  std::vector<std::pair<std::string_view, uint64_t>> types;
  for (const auto& [t, n] : by_type_) types.emplace_back(t, n);
  std::sort(types.begin(), types.end());
  pk.pack_array(static_cast<uint32_t>(types.size()));
  for (const auto& [t, n] : types) {
    pk.pack_array(2);
    pack_str(pk, t);
    pk.pack_uint64(n);
  }
}

bool journal_stats::load(std::span<const char> bytes, std::string& error) {
  msgpack::object_handle oh;
  try {
    oh = msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    error = std::string("not MessagePack: ") + e.what();
    return false;
  }
  const msgpack::object& root = oh.get();
  uint64_t version = 0, events = 0;
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 4 ||
      !uint_of(root.via.array.ptr[0], version) || version != kSaveVersion ||
      !uint_of(root.via.array.ptr[1], events) ||
      root.via.array.ptr[2].type != msgpack::type::ARRAY ||
      root.via.array.ptr[3].type != msgpack::type::ARRAY) {
    error = "not a journal_stats snapshot (version 1)";
    return false;
  }
  decltype(by_agg_) aggs;
  decltype(by_type_) types;
  const auto& a = root.via.array.ptr[2].via.array;
  aggs.reserve(a.size);
  for (uint32_t i = 0; i < a.size; ++i) {
    const auto& row = a.ptr[i];
    std::string_view key, type;
    entry en;
    if (row.type != msgpack::type::ARRAY || row.via.array.size != 5) {
      error = "malformed aggregate entry";
      return false;
    }
    const auto* f = row.via.array.ptr;
    if (!str_of(&f[0], key) || !uint_of(f[1], en.events) || !uint_of(f[2], en.ver) ||
        !uint_of(f[3], en.last_seq) || !str_of(&f[4], type)) {
      error = "malformed aggregate entry";
      return false;
    }
    en.last_type.assign(type);
    aggs.emplace(std::string(key), std::move(en));
  }
  const auto& t = root.via.array.ptr[3].via.array;
  for (uint32_t i = 0; i < t.size; ++i) {
    const auto& row = t.ptr[i];
    std::string_view type;
    uint64_t n = 0;
    if (row.type != msgpack::type::ARRAY || row.via.array.size != 2 ||
        !str_of(&row.via.array.ptr[0], type) || !uint_of(row.via.array.ptr[1], n)) {
      error = "malformed type entry";
      return false;
    }
    types.emplace(std::string(type), n);
  }
  by_agg_ = std::move(aggs);
  by_type_ = std::move(types);
  events_ = events;
  return true;
}

std::unique_ptr<read_model> journal_stats::clone_empty() const {
  return std::make_unique<journal_stats>();
}

}  // namespace rill::readmodels
