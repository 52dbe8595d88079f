#pragma once
// Wire layout of the change-notification endpoints (PROTOCOL.md "Change
// notification"). Every body is one MessagePack map; strings are UTF-8.
//
// notify (ROUTER, served by rill-notify; clients use a DEALER):
//
//   request                                         reply (ok)
//   {"op":"watch",   "model":M, "key"?:K, "req"?}
//   {"ok":true,"op":"watch","known":b,"expiry_ms":u,"req"?}
//   {"op":"unwatch", "model":M, "key"?:K, "req"?}
//   {"ok":true,"op":"unwatch","known":b,"removed":b,"req"?}
//   {"op":"ping", "req"?} {"ok":true,"op":"ping","known":b,"watches":u,"expiry_ms":u,"req"?}
//   {"op":"status", "req"?} {"ok":true,"op":"status","known":b,"clients":u,"watches":u,...}
//   anything else {"ok":false,"error":code,"message":str,"known":b,"req"?}
//
//   `key` absent or nil: the whole model. A key is a non-empty string of at
//   most kMaxKeyLen bytes; a model name is 1..kMaxModelLen bytes without NUL.
//   A request naming a field not listed here is bad_request (a typo such as
//   "kye" must not silently become a whole-model watch).
//
//   `known` says whether the notifier knew this client (its connection) before
//   this request. A client that has had a watch acknowledged and then sees
//   known=false was forgotten (expired, dropped as too slow, or the notifier
//   restarted) and must watch everything again. Only `watch` registers a
//   client; every request of a registered client refreshes its liveness.
//
// notes, pushed on the client's connection, mirroring its last envelope:
//
//   {"note":"changed", "model":M, "key":K|nil, "seq":u}
//
//   key nil: the whole model changed (an empty `keys` report), or so many of
//   its keys changed that the client's queue folded them into one note.
//   Notes for the same model+key waiting for a client coalesce to the newest seq.
//
// notify-in (PULL; read models PUSH):
//
//   {"model":M, "keys":[K...], "seq":u, "seqs"?:[u...]}
//
//   For each key: watchers of that key and of the whole model get a note with
//   that key, stamped with its entry in `seqs` (the seq of the event that
//   changed it; same length and order as `keys`) or, without `seqs`, with
//   `seq`. A read model that coalesces the changes of several events into
//   one report sends `seqs` so that every note names its own cause; `seq`
//   is then the last seq the report covers. `keys` empty (or longer than the
//   notifier's max_report_keys): every client watching anything in the model
//   gets one note with key nil and `seq`. Other fields are ignored (read
//   models may add some).
//
// Frozen: field names and op names below are part of protocol version 1.
#include <cstddef>
#include <string_view>

namespace rill::transport::notify {

inline constexpr std::string_view kOpWatch = "watch";
inline constexpr std::string_view kOpUnwatch = "unwatch";
inline constexpr std::string_view kOpPing = "ping";
inline constexpr std::string_view kOpStatus = "status";
inline constexpr std::string_view kNoteChanged = "changed";

inline constexpr std::string_view kFieldOp = "op";
inline constexpr std::string_view kFieldModel = "model";
inline constexpr std::string_view kFieldKey = "key";
inline constexpr std::string_view kFieldKeys = "keys";
inline constexpr std::string_view kFieldSeq = "seq";
inline constexpr std::string_view kFieldSeqs = "seqs";
inline constexpr std::string_view kFieldReq = "req";
inline constexpr std::string_view kFieldNote = "note";
inline constexpr std::string_view kFieldOk = "ok";
inline constexpr std::string_view kFieldError = "error";
inline constexpr std::string_view kFieldMessage = "message";
inline constexpr std::string_view kFieldKnown = "known";
inline constexpr std::string_view kFieldExpiry = "expiry_ms";

inline constexpr size_t kMaxModelLen = 256;  // bytes
inline constexpr size_t kMaxKeyLen = 1024;   // bytes

}  // namespace rill::transport::notify
