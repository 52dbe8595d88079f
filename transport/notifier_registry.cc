#include "transport/notifier_registry.h"

#include <algorithm>

namespace rill::transport {

namespace {

// Below this many queued notes a linear scan finds duplicates faster than a set.
constexpr size_t kLinearQueue = 16;
constexpr uint32_t kNoNote = UINT32_MAX;

}  // namespace

std::string watch_key(std::string_view model, std::optional<std::string_view> key) {
  std::string w;
  w.reserve(model.size() + 2 + (key ? key->size() : 0));
  w.append(model);
  w.push_back('\0');
  if (key) {
    w.push_back('=');
    w.append(*key);
  } else {
    w.push_back('*');
  }
  return w;
}

notifier_registry::notifier_registry(const registry_limits& lim) : lim_(lim) {
  if (lim_.client_queue == 0) lim_.client_queue = 1;
}

notifier_registry::client_id notifier_registry::find(std::string_view identity) const {
  auto it = by_identity_.find(identity);
  return it == by_identity_.end() ? npos : it->second;
}

notifier_registry::client_id notifier_registry::add(std::string_view identity, bool delimiter,
                                                    clock::time_point now) {
  if (live_clients_ >= lim_.max_clients) return npos;
  client_id id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<client_id>(slots_.size());
    slots_.emplace_back();
  }
  client_slot& c = slots_[id];
  c.identity.assign(identity);
  c.live = true;
  c.delimiter = delimiter;
  c.last_seen = now;
  by_identity_.emplace(c.identity, id);
  lru_append(id);
  ++live_clients_;
  ++stats_.clients_registered;
  return id;
}

void notifier_registry::touch(client_id id, bool delimiter, clock::time_point now) {
  client_slot& c = slots_[id];
  c.delimiter = delimiter;
  c.last_seen = now;
  if (lru_tail_ != id) {
    lru_unlink(id);
    lru_append(id);
  }
}

watch_result notifier_registry::watch(client_id id, std::string_view model,
                                      std::optional<std::string_view> key) {
  client_slot& c = slots_[id];
  std::string wkey = watch_key(model, key);
  if (c.watches.contains(wkey)) return watch_result::exists;
  if (c.watches.size() >= lim_.max_watches_per_client) return watch_result::too_many;
  c.watches.insert(std::move(wkey));
  auto [it, inserted] = models_.try_emplace(model);
  model_entry& me = it->second;
  if (key) {
    me.keys[*key].insert(id);
  } else {
    me.whole.insert(id);
  }
  ++me.watches;
  ++total_watches_;
  return watch_result::added;
}

bool notifier_registry::unwatch(client_id id, std::string_view model,
                                std::optional<std::string_view> key) {
  client_slot& c = slots_[id];
  auto it = c.watches.find(watch_key(model, key));
  if (it == c.watches.end()) return false;
  remove_watch(id, *it);
  c.watches.erase(it);
  --total_watches_;
  return true;
}

size_t notifier_registry::watch_count(client_id id) const {
  return slots_[id].watches.size();
}

void notifier_registry::remove_watch(client_id id, const std::string& wkey) {
  const size_t nul = wkey.find('\0');
  std::string_view model(wkey.data(), nul);
  auto it = models_.find(model);
  if (it == models_.end()) return;
  model_entry& me = it->second;
  if (wkey[nul + 1] == '*') {
    me.whole.erase(id);
  } else {
    std::string_view key(wkey.data() + nul + 2, wkey.size() - nul - 2);
    auto kit = me.keys.find(key);
    if (kit != me.keys.end()) {
      kit->second.erase(id);
      if (kit->second.empty()) me.keys.erase(kit);
    }
  }
  if (--me.watches == 0) models_.erase(it);
}

uint32_t notifier_registry::note_for(std::string_view model, std::optional<std::string_view> key,
                                     uint64_t seq) {
  auto [it, inserted] = note_ids_.try_emplace(watch_key(model, key), 0);
  if (!inserted) {
    note_record& r = notes_[it->second];
    r.seq = std::max(r.seq, seq);
    return it->second;
  }
  it->second = static_cast<uint32_t>(notes_.size());
  note_record r;
  r.model.assign(model);
  if (key) r.key.emplace(*key);
  r.seq = seq;
  notes_.push_back(std::move(r));
  return it->second;
}

bool notifier_registry::queued(const client_slot& c, uint32_t note) const {
  if (c.queue.size() <= kLinearQueue)
    return std::find(c.queue.begin(), c.queue.end(), note) != c.queue.end();
  return c.queued.contains(note);
}

void notifier_registry::enqueue(client_id id, uint32_t note, uint32_t whole) {
  client_slot& c = slots_[id];
  if (!c.live) return;
  if (!c.owed.empty()) {  // stalled: its owed whole-model note covers this one
    const note_record& r = notes_[note];
    uint64_t& seq = c.owed[r.model];
    seq = std::max(seq, r.seq);
    ++stats_.notes_folded;
    return;
  }
  if (queued(c, note)) {
    ++stats_.notes_coalesced;
    return;
  }
  if (whole != kNoNote && queued(c, whole)) {
    // A whole-model note is already waiting: it covers this key too.
    note_record& w = notes_[whole];
    w.seq = std::max(w.seq, notes_[note].seq);
    ++stats_.notes_coalesced;
    return;
  }
  if (c.queue.size() >= lim_.client_queue) {
    fold(id, note);
  } else {
    c.queue.push_back(note);
    if (c.queue.size() > kLinearQueue) {
      if (c.queued.empty()) c.queued.insert(c.queue.begin(), c.queue.end());
      c.queued.insert(note);
    }
    ++stats_.notes_queued;
  }
  if (!c.dirty && !c.queue.empty()) {
    c.dirty = true;
    dirty_.push_back(id);
  }
}

void notifier_registry::fold(client_id id, uint32_t note) {
  client_slot& c = slots_[id];
  absl::flat_hash_map<std::string, uint64_t> per_model;
  auto take = [&](uint32_t n) {
    const note_record& r = notes_[n];
    uint64_t& s = per_model[r.model];
    s = std::max(s, r.seq);
  };
  for (uint32_t n : c.queue) take(n);
  take(note);
  const size_t before = c.queue.size() + 1;
  c.queue.clear();
  c.queued.clear();
  if (per_model.size() > lim_.client_queue) {
    // Even one note per model does not fit: this client cannot be served.
    stats_.notes_dropped += before;
    doomed_.push_back(id);
    c.live = false;  // enqueue() skips it until forget() runs after the report
    return;
  }
  for (const auto& [model, seq] : per_model) c.queue.push_back(note_for(model, std::nullopt, seq));
  if (c.queue.size() > kLinearQueue) c.queued.insert(c.queue.begin(), c.queue.end());
  stats_.notes_folded += before - c.queue.size();
}

void notifier_registry::report(std::string_view model, std::span<const std::string_view> keys,
                               uint64_t seq, std::span<const uint64_t> key_seqs) {
  ++stats_.reports;
  auto it = models_.find(model);
  if (it == models_.end()) return;
  const model_entry& me = it->second;
  if (keys.empty()) {
    const uint32_t n = note_for(model, std::nullopt, seq);
    for (client_id c : me.whole) enqueue(c, n, kNoNote);
    for (const auto& [key, watchers] : me.keys)
      for (client_id c : watchers) enqueue(c, n, kNoNote);
  } else {
    const std::string whole_key = watch_key(model, std::nullopt);
    const bool per_key = key_seqs.size() == keys.size();
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string_view key = keys[i];
      auto kit = me.keys.find(key);
      if (me.whole.empty() && kit == me.keys.end()) continue;
      const uint32_t n = note_for(model, key, per_key ? key_seqs[i] : seq);
      // The model's whole-model note of this flush, if any (a fold makes one).
      auto wit = note_ids_.find(whole_key);
      const uint32_t whole = wit == note_ids_.end() ? kNoNote : wit->second;
      for (client_id c : me.whole) enqueue(c, n, whole);
      if (kit != me.keys.end())
        for (client_id c : kit->second) enqueue(c, n, whole);
    }
  }
  // Clients that overflowed are forgotten only now: forgetting edits the
  // watcher sets iterated above.
  for (client_id c : doomed_) {
    slots_[c].live = true;
    forget(c, forget_reason::slow);
  }
  doomed_.clear();
}

void notifier_registry::stall(client_id id, size_t from) {
  client_slot& c = slots_[id];
  if (c.owed.empty()) {
    stalled_.push_back(id);
    ++stats_.clients_stalled;
  }
  for (size_t i = from; i < c.queue.size(); ++i) {
    const note_record& r = notes_[c.queue[i]];
    uint64_t& seq = c.owed[r.model];
    seq = std::max(seq, r.seq);
  }
  stats_.notes_folded += c.queue.size() - from;
  c.queue.clear();
  c.queued.clear();
}

send_result notifier_registry::send_owed(client_id id, note_sink& sink) {
  client_slot& c = slots_[id];
  for (auto it = c.owed.begin(); it != c.owed.end();) {
    const pending_note pn{it->first, std::nullopt, it->second, pending_note::kUnshared};
    const send_result r = sink.send(c.identity, c.delimiter, pn);
    if (r != send_result::sent) return r;
    ++stats_.notes_sent;
    c.owed.erase(it++);
  }
  return send_result::sent;
}

void notifier_registry::flush(note_sink& sink) {
  // Stalled clients first: their owed notes come before anything newer.
  for (size_t i = 0; i < stalled_.size();) {
    const client_id id = stalled_[i];
    const send_result r = send_owed(id, sink);  // (forget() takes a client off stalled_)
    if (r == send_result::full) {
      ++i;
      continue;
    }
    stalled_[i] = stalled_.back();
    stalled_.pop_back();
    if (r == send_result::gone) forget(id, forget_reason::gone);
  }
  for (size_t i = 0; i < dirty_.size(); ++i) {
    const client_id id = dirty_[i];
    client_slot& c = slots_[id];
    c.dirty = false;
    if (!c.live || c.queue.empty()) continue;
    size_t sent = 0;
    send_result r = send_result::sent;
    if (c.owed.empty()) {
      for (uint32_t n : c.queue) {
        const note_record& rec = notes_[n];
        pending_note pn{rec.model, std::nullopt, rec.seq, n};
        if (rec.key) pn.key = *rec.key;
        r = sink.send(c.identity, c.delimiter, pn);
        if (r != send_result::sent) break;
        ++sent;
      }
      stats_.notes_sent += sent;
    } else {
      r = send_result::full;  // still stalled (its queue was filled before it stalled)
    }
    if (r == send_result::full) {
      stall(id, sent);
    } else if (r == send_result::gone) {
      stats_.notes_dropped += c.queue.size() - sent;
      c.queue.clear();
      c.queued.clear();
      forget(id, forget_reason::gone);
    } else {
      c.queue.clear();
      c.queued.clear();
    }
  }
  dirty_.clear();
  notes_.clear();
  note_ids_.clear();
}

size_t notifier_registry::expire(clock::time_point now) {
  size_t n = 0;
  while (lru_head_ != npos && slots_[lru_head_].last_seen + lim_.expiry < now) {
    forget(lru_head_, forget_reason::expired);
    ++n;
  }
  return n;
}

std::optional<notifier_registry::clock::time_point> notifier_registry::next_expiry() const {
  if (lru_head_ == npos) return std::nullopt;
  return slots_[lru_head_].last_seen + lim_.expiry;
}

void notifier_registry::forget(client_id id, forget_reason why) {
  client_slot& c = slots_[id];
  if (!c.live) return;
  for (const std::string& w : c.watches) remove_watch(id, w);
  total_watches_ -= c.watches.size();
  string_set().swap(c.watches);
  stats_.notes_dropped += c.queue.size() + c.owed.size();
  c.queue.clear();
  c.queued.clear();
  if (!c.owed.empty()) {
    string_map<uint64_t>().swap(c.owed);
    std::erase(stalled_, id);
  }
  by_identity_.erase(c.identity);
  lru_unlink(id);
  c.live = false;
  c.identity.clear();
  free_.push_back(id);
  --live_clients_;
  switch (why) {
    case forget_reason::expired:
      ++stats_.clients_expired;
      break;
    case forget_reason::slow:
      ++stats_.clients_dropped;
      break;
    case forget_reason::gone:
      ++stats_.clients_gone;
      break;
  }
}

size_t notifier_registry::queued_notes() const {
  size_t n = 0;
  for (client_id id : dirty_) n += slots_[id].queue.size();
  return n;
}

void notifier_registry::lru_unlink(client_id id) {
  client_slot& c = slots_[id];
  if (c.prev != npos) {
    slots_[c.prev].next = c.next;
  } else if (lru_head_ == id) {
    lru_head_ = c.next;
  }
  if (c.next != npos) {
    slots_[c.next].prev = c.prev;
  } else if (lru_tail_ == id) {
    lru_tail_ = c.prev;
  }
  c.prev = c.next = npos;
}

void notifier_registry::lru_append(client_id id) {
  client_slot& c = slots_[id];
  c.prev = lru_tail_;
  c.next = npos;
  if (lru_tail_ != npos) {
    slots_[lru_tail_].next = id;
  } else {
    lru_head_ = id;
  }
  lru_tail_ = id;
}

}  // namespace rill::transport
