#pragma once
// CURVE security for tcp:// endpoints (DESIGN.md "Security").
//
// ipc:// endpoints live in D/run, a directory private to its owner (0700):
// the file system is their access control. A tcp:// endpoint is refused at
// startup unless it has a CURVE server key pair; a ZAP handler then checks
// each client's public key against the allow-list:
//   - a client that does not speak CURVE, or whose handshake fails, gets no
//     connection at all;
//   - on the event feed (PUB) and notify-in (PULL), a key not on the list is
//     refused during the handshake: nothing is ever sent to or read from it;
//   - on request endpoints (ROUTER: command, replay, model.<name>, notify),
//     a key not on the list completes the handshake with the user id
//     kForbiddenUserId, and server_socket answers each of its requests with
//     `forbidden` (PROTOCOL.md) without passing it on: the client learns why,
//     and gets no access.
//
// Keys are 40-character Z85 strings (ZeroMQ's text form of 32-byte keys).
// Key files are text: lines `public = <z85>` and, for secret files,
// `secret = <z85>`; '#' starts a comment.
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace rill::transport {

struct key_pair {
  std::string public_z85;
  std::string secret_z85;  // empty for a public-only key file
};

// Generates a new CURVE key pair. Throws zmq::error_t if libzmq lacks CURVE.
key_pair generate_key_pair();
// Reads a key file. Throws security_error with a clear message; a file
// holding a secret key must be private to its owner (no group or other
// permission bits), as ssh asks of a private key.
key_pair load_key_file(const std::string& path);
// A peer's public key file: refused if it holds a secret key (the server's
// secret never belongs with a client).
key_pair load_public_key_file(const std::string& path);
// Writes `kp` to `path` (mode 0600 when it holds a secret key).
void save_key_file(const std::string& path, const key_pair& kp, bool include_secret);
// Reads an allow-list: one Z85 public key per line (or `public = ...` lines,
// or a directory of *.pub key files).
std::vector<std::string> load_allow_list(const std::string& path);

struct server_security {
  key_pair server;                    // must hold a secret key
  std::vector<std::string> allowed;   // Z85 public keys of authorised clients
};

struct client_security {
  std::string server_public_z85;
  key_pair client;
};

// A client's keys: its key pair (`key_file`, which must hold the secret key)
// and the server's public key (`server_file`). Throws security_error.
client_security load_client_security(const std::string& key_file, const std::string& server_file);

bool is_tcp(const std::string& endpoint);

// The ZAP user id of a CURVE client whose key is not on the allow-list, on a
// socket that answers such clients (see above).
inline constexpr const char* kForbiddenUserId = "rill.forbidden";

// What a server socket does with a CURVE client whose key is not allowed.
enum class refused_clients {
  disconnect,  // the handshake fails (ZAP domain "rill")
  answer,      // admitted as kForbiddenUserId (ZAP domain "rill.answer")
};

// Configures a server (binding) socket for `endpoint`. For tcp:// it requires
// `sec` (throws std::runtime_error otherwise) and enables CURVE with ZAP;
// the context must have a zap_handler running.
// The checks of apply_server_security alone (throws security_error): a
// daemon runs them on every endpoint before it binds any, so a refused
// configuration leaves no socket file behind.
void check_server_security(const std::string& endpoint, const server_security* sec);
void apply_server_security(zmq::socket_t& s, const std::string& endpoint,
                           const server_security* sec,
                           refused_clients refused = refused_clients::disconnect);
// A tcp:// endpoint to be used without CURVE keys (or with unusable ones):
// a configuration error, never a fallback to plain text.
class security_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws security_error when `endpoint` is tcp:// and `sec` is null: a
// client never talks to a tcp:// endpoint unencrypted (DESIGN.md), so a
// request, with whatever it carries, is never sent in the clear.
void require_client_keys(const std::string& endpoint, const client_security* sec);
// Configures a client (connecting) socket. For tcp:// it requires `sec`
// (require_client_keys) and enables CURVE; ipc:// and inproc:// need none.
void apply_client_security(zmq::socket_t& s, const std::string& endpoint,
                           const client_security* sec);

// ZAP handler (RFC 27) for one context: admits CURVE clients whose public key
// is on the allow-list; admits the others as kForbiddenUserId on sockets of
// the domain "rill.answer", and refuses them everywhere else; refuses every
// other mechanism. refused() counts the keys not on the list. Owns one thread
// and one REP socket bound to inproc://zeromq.zap.01. Create before binding
// sockets.
class zap_handler {
 public:
  zap_handler(zmq::context_t& ctx, std::vector<std::string> allowed_z85);
  ~zap_handler();
  zap_handler(const zap_handler&) = delete;
  zap_handler& operator=(const zap_handler&) = delete;
  uint64_t refused() const { return refused_.load(); }

 private:
  void run(std::vector<std::string> allowed_binary);
  zmq::context_t& ctx_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace rill::transport
