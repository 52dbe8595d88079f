#include "core/validator.h"

#include "core/utf8.h"

namespace rill {

namespace {

constexpr size_t quote_max = 64;

std::string_view as_view(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

// "<agg> '<id>'" for messages, clipped.
void describe(std::string& m, std::string_view agg, std::string_view id) {
  m += utf8_prefix(agg, quote_max);
  m += " '";
  m += utf8_prefix(id, quote_max);
  m += '\'';
}

}  // namespace

validator::validator(const schema& s, validator_options o)
    : schema_(s), opts_(o), index_(s.aggregate_count()) {}

const uint64_t* validator::find_version(uint16_t agg, std::string_view id) const {
  return index_[agg].find(hashed(id));
}

void validator::add_key(hashed_view key, uint64_t seq, uint64_t ver) {
  key_fifo_.emplace_back(key.s);
  keys_.insert_absent(hashed_view{key_fifo_.back(), key.h}, key_entry{seq, ver});
}

void validator::evict_keys() {
  while (key_fifo_.size() > opts_.max_keys) {
    keys_.erase(hashed(key_fifo_.front()));
    key_fifo_.pop_front();
  }
}

bool validator::check_refs(const command_def& def, const msgpack::object* data,
                           verdict& v) const {
  if (data == nullptr) return true;
  const msgpack::object_kv* kv = data->via.map.ptr;
  const msgpack::object_kv* const end = kv + data->via.map.size;
  for (; kv != end; ++kv) {
    const field_def* f = def.find_field(as_view(kv->key));  // check_data vetted the keys
    if (f == nullptr || f->ref_index < 0) continue;
    const std::string_view id = as_view(kv->val);
    if (find_version(static_cast<uint16_t>(f->ref_index), id) == nullptr) {
      v.code = errc::not_found;
      v.message = "data.";
      v.message += f->name;
      v.message += ": ";
      describe(v.message, f->ref, id);
      v.message += " does not exist";
      return false;
    }
  }
  return true;
}

void validator::prefetch(const command_request& c) const {
  if (c.has_key) keys_.prefetch(hashed(c.key));
  if (const aggregate_def* a = schema_.find_aggregate(c.agg); a != nullptr)
    index_[a->index].prefetch(hashed(c.id));
}

verdict validator::check(const command_request& c, uint64_t seq) {
  verdict v;
  // Each string is hashed once here; the find and the insert reuse it.
  const hashed_view key = c.has_key ? hashed(c.key) : hashed_view{};
  if (c.has_key) {
    if (const key_entry* e = keys_.find(key); e != nullptr) {
      v.seq = e->seq;
      v.ver = e->ver;
      v.dup = true;
      v.def = schema_.find_command(c.agg, c.cmd);
      return v;
    }
  }
  const aggregate_def* a = schema_.find_aggregate(c.agg);
  if (a == nullptr) {
    v.code = errc::unknown_aggregate;
    v.message = "unknown aggregate type '";
    v.message += utf8_prefix(c.agg, quote_max);
    v.message += '\'';
    return v;
  }
  const command_def* def = a->find_command(c.cmd);
  if (def == nullptr) {
    v.code = errc::unknown_command;
    v.message = "aggregate type '" + a->name + "' has no command '";
    v.message += utf8_prefix(c.cmd, quote_max);
    v.message += '\'';
    return v;
  }
  v.def = def;
  if (errc e = def->check_data(c.data, v.message); e != errc::ok) {
    v.code = e;
    return v;
  }
  version_map& m = index_[a->index];
  const hashed_view id = hashed(c.id);
  uint64_t* const cur = m.find(id);
  const bool exists = cur != nullptr;
  if (def->creates && exists) {
    v.code = errc::already_exists;
    describe(v.message, a->name, c.id);
    v.message += " already exists";
    return v;
  }
  if (!def->creates && !exists) {
    v.code = errc::not_found;
    describe(v.message, a->name, c.id);
    v.message += " does not exist";
    return v;
  }
  if (def->has_refs && !check_refs(*def, c.data, v)) return v;
  const uint64_t current = exists ? *cur : 0;
  if (c.has_expect && static_cast<uint64_t>(c.expect) != current) {
    v.code = errc::version_conflict;
    v.ver = current;
    v.message = "expected version " + std::to_string(c.expect) + ", ";
    describe(v.message, a->name, c.id);
    v.message += " is at version " + std::to_string(current);
    return v;
  }
  // Stage.
  undo_entry u;
  u.agg = a->index;
  u.id_off = undo_ids_.size();
  u.id_len = static_cast<uint32_t>(c.id.size());
  u.hash = id.h;
  undo_ids_.append(c.id);
  if (exists) {
    u.w = undo_entry::what::bumped;
    u.prev_ver = current;
    *cur = current + 1;
  } else {
    u.w = undo_entry::what::created;
    u.id_mark = ids_.mark();
    m.insert_absent(hashed_key<short_or_pooled>{short_or_pooled(c.id, ids_), id.h}, 1);
  }
  undo_.push_back(u);
  v.ver = current + 1;
  v.seq = seq;
  if (c.has_key) {
    add_key(key, seq, v.ver);
    undo_entry k;
    k.w = undo_entry::what::key;
    k.id_off = undo_ids_.size();
    undo_.push_back(k);
  }
  return v;
}

void validator::rollback_to(size_t sp) {
  while (undo_.size() > sp) {
    const undo_entry u = undo_.back();
    undo_.pop_back();
    if (u.w == undo_entry::what::key) {
      keys_.erase(hashed(key_fifo_.back()));
      key_fifo_.pop_back();
      continue;
    }
    const hashed_view id{std::string_view(undo_ids_.data() + u.id_off, u.id_len), u.hash};
    version_map& m = index_[u.agg];
    if (u.w == undo_entry::what::created) {
      m.erase(id);
      ids_.release_to(u.id_mark);  // undone newest first: nothing newer uses the bytes
    } else if (uint64_t* cur = m.find(id); cur != nullptr) {
      *cur = u.prev_ver;
    }
    undo_ids_.resize(u.id_off);
  }
}

void validator::commit() {
  undo_.clear();
  undo_ids_.clear();
  evict_keys();
  for (version_map& m : index_) m.step(kGrowStepPerCommit);
  keys_.step(kGrowStepPerCommit);
}

bool validator::apply(std::string_view agg, std::string_view id, uint64_t ver,
                      std::string_view key, uint64_t seq) {
  const aggregate_def* a = schema_.find_aggregate(agg);
  version_map* m = nullptr;
  if (a != nullptr) {
    m = &index_[a->index];
  } else if (auto it = foreign_.find(agg); it != foreign_.end()) {
    m = &it->second;
  } else {
    m = &foreign_.emplace(std::string(agg), version_map()).first->second;
  }
  const hashed_view h = hashed(id);
  if (uint64_t* cur = m->find(h); cur != nullptr) {
    *cur = ver;
  } else {
    m->insert_absent(hashed_key<short_or_pooled>{short_or_pooled(id, ids_), h.h}, ver);
  }
  // A key seen again after it was forgotten keeps its first (surviving) entry.
  if (!key.empty()) {
    if (const hashed_view k = hashed(key); !keys_.contains(k)) {
      add_key(k, seq, ver);
      evict_keys();
    }
  }
  return a != nullptr;
}

uint64_t validator::version(std::string_view agg, std::string_view id) const {
  const aggregate_def* a = schema_.find_aggregate(agg);
  if (a == nullptr) return 0;
  const uint64_t* v = find_version(a->index, id);
  return v != nullptr ? *v : 0;
}

size_t validator::aggregate_count() const {
  size_t n = 0;
  for (const version_map& m : index_) n += m.size();
  return n;
}

size_t validator::foreign_aggregate_count() const {
  size_t n = 0;
  for (const auto& [name, m] : foreign_) n += m.size();
  return n;
}

}  // namespace rill
