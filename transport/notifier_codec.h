#pragma once
// Decoders and encoders of the change-notification messages laid out in
// transport/notifier_protocol.h. Decoders take untrusted bytes, never throw,
// and return errc::ok or an error code with a human message; the views they
// fill point into the borrowed bytes, which must outlive them.
//
// Thread-safety: pure functions; thread-safe.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"
#include "core/limits.h"

namespace rill::transport::notify {

enum class op : uint8_t { watch, unwatch, ping, status };

std::string_view to_string(op o);

// A request on the notify endpoint.
struct request {
  op kind = op::ping;
  std::string_view model;               // watch / unwatch: required
  std::optional<std::string_view> key;  // absent or nil: the whole model
  std::span<const char> req;            // raw MessagePack of `req`; empty when absent
};

// bad_request / too_large (bytes.size() > lim.max_request_bytes), or ok.
errc decode_request(std::span<const char> bytes, const limits& lim, request& out,
                    std::string& message);

// A change report on the notify-in endpoint. `whole` is set when `keys` was
// empty or longer than max_keys (then `keys` and `seqs` are left empty).
// `seqs` is empty or holds each key's seq (a `seqs` field whose length is
// not that of `keys`, or with a seq above `seq`, is bad_request).
struct change_report {
  std::string_view model;
  std::vector<std::string_view> keys;
  std::vector<uint64_t> seqs;
  uint64_t seq = 0;
  bool whole = false;
};

errc decode_report(std::span<const char> bytes, const limits& lim, size_t max_keys,
                   change_report& out, std::string& message);

// A message a client receives on its notify connection: a note or a reply.
struct server_message {
  bool is_note = false;
  // note
  std::string_view model;
  std::optional<std::string_view> key;
  uint64_t seq = 0;
  // reply
  bool ok = false;
  std::string_view op_name;
  errc error = errc::ok;
  std::string_view message;
  std::optional<bool> known;
  std::optional<uint64_t> expiry_ms;
  std::optional<uint64_t> req;  // only unsigned integer req ids are recognised
};

errc decode_server_message(std::span<const char> bytes, server_message& out, std::string& message);

// The protocol's error name back to its code (errc::count_ if unknown).
errc errc_from_string(std::string_view s);

// A field value already encoded as MessagePack (a map, an array).
struct packed_value {
  std::span<const char> bytes;
};

// One extra reply field.
struct field {
  std::string_view name;
  std::variant<uint64_t, bool, std::string_view, packed_value> value;
};

// {"ok":true,"op":op,"known":known, <fields...>, "req"?: raw}
void encode_ok_reply(out_buffer& out, std::string_view op_name, bool known,
                     std::span<const field> fields, std::span<const char> req);
void encode_ok_reply(out_buffer& out, std::string_view op_name, bool known,
                     std::initializer_list<field> fields, std::span<const char> req);
// {"ok":false,"error":code,"message":text,"known":known,"expiry_ms":e,"req"?: raw}
// (PROTOCOL.md: every reply carries known and expiry_ms).
void encode_error_reply(out_buffer& out, errc code, std::string_view message, bool known,
                        uint64_t expiry_ms, std::span<const char> req);
// {"note":"changed","model":M,"key":K|nil,"seq":seq}
void encode_note(out_buffer& out, std::string_view model, std::optional<std::string_view> key,
                 uint64_t seq);
// {"op":op,"model"?:M,"key"?:K,"req":req} - what notify_client sends.
void encode_request(out_buffer& out, op o, std::optional<std::string_view> model,
                    std::optional<std::string_view> key, uint64_t req);
// {"model":M,"keys":[...],"seq":seq[,"seqs":[...]][,"all":true]} - what a
// read model pushes: `seqs` (each key's seq) when not empty, and "all" with
// empty keys for a whole-model change.
void encode_report(out_buffer& out, std::string_view model, std::span<const std::string_view> keys,
                   uint64_t seq, std::span<const uint64_t> seqs = {}, bool all = false);

}  // namespace rill::transport::notify
