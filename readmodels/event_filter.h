#pragma once
// event_filter: tells from the first bytes of a stored event whether any of
// a set of read models reacts to it (read_model::reads()), so that rebuilds,
// catch-up and the live path skip decoding the events no model reads. With
// the default domain, customers reads 3 of 5 kinds but only 30% of the
// events; skipping is a peek of four fields instead of a decode.
//
// An event is skipped only when it is in rill's layout (peek_event_kind in
// core/event.h) and its (agg, type) is listed by none of the models;
// an event in any other layout is decoded (and, if it does not decode, counted
// as undecodable as before). A model with an empty list reads everything,
// and then the filter skips nothing and peeks nothing.
//
// Ownership: copies the kinds (holds no reference to the models).
// Thread-safety: const methods are thread-safe; add() is not.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "readmodels/projector_decode.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class event_filter {
 public:
  // No model yet: skips nothing.
  event_filter() = default;
  explicit event_filter(const read_model& m) { add(m); }

  // The filter now passes whatever `m` reads too.
  void add(const read_model& m);

  // True when no model reads events of body's kind; `head` then holds the
  // event's seq, ts, agg and type (views into body).
  bool skips(std::span<const char> body, event_kind_head& head) const {
    return filtering_ && peek_event_kind(body, head) && !listed(head.agg, head.type);
  }
  // Whether any kind is filtered out at all.
  bool filtering() const { return filtering_; }

 private:
  bool listed(std::string_view agg, std::string_view type) const;

  struct kind {
    std::string agg, type;
  };
  std::vector<kind> kinds_;
  bool any_model_ = false;
  bool filtering_ = false;  // some model was added and none reads everything
  bool reads_all_ = false;
};

}  // namespace rill::readmodels
