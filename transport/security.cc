#include "transport/security.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rill::transport {
namespace {

// The ZAP domain of sockets that admit refused CURVE keys as kForbiddenUserId.
constexpr const char* kAnswerDomain = "rill.answer";

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool valid_z85_key(const std::string& k) {
  if (k.size() != 40) return false;
  uint8_t out[32];
  return zmq_z85_decode(out, k.c_str()) != nullptr;
}

std::string z85_to_binary(const std::string& k) {
  uint8_t out[32];
  if (k.size() != 40 || zmq_z85_decode(out, k.c_str()) == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(out), 32);
}

}  // namespace

bool is_tcp(const std::string& endpoint) { return endpoint.rfind("tcp://", 0) == 0; }

key_pair generate_key_pair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) throw zmq::error_t();
  return {pub, sec};
}

// One line of a key file or allow-list: "# comment", "public = KEY",
// "secret = KEY" or a bare KEY. Z85 keys may contain '#' and '=', so a comment
// is only a line starting with '#', and a bare 40-character key is taken whole.
// Returns false for a blank or comment line.
bool parse_key_line(std::string line, std::string& name, std::string& value) {
  line = trim(line);
  if (line.empty() || line[0] == '#') return false;
  if (valid_z85_key(line)) {
    name = "public";
    value = line;
    return true;
  }
  auto eq = line.find('=');
  if (eq == std::string::npos) {
    name = "public";
    value = line;
    return true;
  }
  name = trim(line.substr(0, eq));
  value = trim(line.substr(eq + 1));
  return true;
}

key_pair load_key_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw security_error("key file " + path + " is a directory, not a key file");
  std::ifstream in(path);
  if (!in) throw security_error("cannot read key file " + path);
  key_pair kp;
  std::string line, name, value;
  while (std::getline(in, line)) {
    if (!parse_key_line(line, name, value)) continue;
    // The value is never shown: it may be a secret key.
    if (!valid_z85_key(value))
      throw security_error("key file " + path + ": the " + name + " entry is not a Z85 key");
    if (name == "public") kp.public_z85 = value;
    else if (name == "secret") kp.secret_z85 = value;
    else
      throw security_error("key file " + path + ": unknown entry '" + name + "'");
  }
  if (!kp.secret_z85.empty()) {
    // The public key of a secret key is derived from it: a file whose two
    // entries do not belong together would have the server answer under a
    // key no client expects (or a client present one it cannot prove).
    char pub[41];
    if (zmq_curve_public(pub, kp.secret_z85.c_str()) != 0)
      throw security_error("key file " + path + ": bad secret key");
    if (kp.public_z85.empty())
      kp.public_z85 = pub;
    else if (kp.public_z85 != pub)
      throw security_error("key file " + path +
                           ": its public and secret keys are not one pair (the public key of "
                           "its secret key is another)");
  }
  if (kp.public_z85.empty()) throw security_error("key file " + path + ": no key");
  if (!kp.secret_z85.empty()) {
    // Like ssh with a private key: a secret others can read is refused.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      throw security_error("key file " + path +
                           " holds a secret key and other users can access it (mode " + mode +
                           "); make it private: chmod 600 " + path);
    }
  }
  return kp;
}

key_pair load_public_key_file(const std::string& path) {
  key_pair kp = load_key_file(path);
  // A peer's secret key never belongs on this side.
  if (!kp.secret_z85.empty())
    throw security_error(path +
                         " holds a secret key; give the server's public key file (NAME.pub from "
                         "rill keys gen): its secret key stays with the server");
  return kp;
}

client_security load_client_security(const std::string& key_file, const std::string& server_file) {
  client_security s;
  s.client = load_key_file(key_file);
  if (s.client.secret_z85.empty()) throw security_error(key_file + ": holds no secret key");
  s.server_public_z85 = load_public_key_file(server_file).public_z85;
  return s;
}

void save_key_file(const std::string& path, const key_pair& kp, bool include_secret) {
  // Written to a temp file created with its final mode (a secret is never
  // readable by others, not even for a moment), then renamed over `path`.
  std::string text = "# rill CURVE key (Z85)\npublic = " + kp.public_z85 + "\n";
  if (include_secret) text += "secret = " + kp.secret_z85 + "\n";
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const mode_t mode = include_secret ? 0600 : 0644;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write key file " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;  // the umask may have narrowed a public key's mode
  for (size_t at = 0; ok && at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) at += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write key file " + path + ": " + std::strerror(err));
  }
}

std::vector<std::string> load_allow_list(const std::string& path) {
  std::vector<std::string> keys;
  if (std::filesystem::is_directory(path)) {
    for (const auto& e : std::filesystem::directory_iterator(path))
      if (e.path().extension() == ".pub") keys.push_back(load_key_file(e.path()).public_z85);
    return keys;
  }
  std::ifstream in(path);
  if (!in) throw security_error("cannot read allow-list " + path);
  std::string line, name, value;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!parse_key_line(line, name, value)) continue;
    // The line itself is never shown: a secret key given by mistake would
    // end up in the log.
    const std::string where = "allow-list " + path + ", line " + std::to_string(number) + ": ";
    if (name == "secret")
      throw security_error(where +
                           "a secret key (not shown); an allow-list holds the clients' public "
                           "keys only (their .pub files)");
    if (name != "public" || !valid_z85_key(value))
      throw security_error(where + "not a Z85 public key (40 characters, or 'public = KEY')");
    keys.push_back(value);
  }
  return keys;
}

void check_server_security(const std::string& endpoint, const server_security* sec) {
  if (!is_tcp(endpoint)) return;
  if (sec == nullptr)
    throw security_error("endpoint " + endpoint +
                         " is tcp:// and needs CURVE: give a server key (--curve-key) and an "
                         "allow-list of client keys (--curve-allow)");
  if (sec->server.secret_z85.empty())
    throw security_error("endpoint " + endpoint +
                         " is tcp:// and the --curve-key file holds no secret key (a .pub file? "
                         "the server needs its NAME.key)");
  if (sec->allowed.empty())
    throw security_error("endpoint " + endpoint +
                         " is tcp:// and no client key is allowed: give an allow-list of client "
                         "public keys (--curve-allow) that lists at least one");
}

void apply_server_security(zmq::socket_t& s, const std::string& endpoint,
                           const server_security* sec, refused_clients refused) {
  if (!is_tcp(endpoint)) return;
  check_server_security(endpoint, sec);
  s.set(zmq::sockopt::zap_domain, refused == refused_clients::answer ? kAnswerDomain : "rill");
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, sec->server.secret_z85);
}

void require_client_keys(const std::string& endpoint, const client_security* sec) {
  if (is_tcp(endpoint) && sec == nullptr)
    throw security_error(endpoint +
                         " is a tcp:// endpoint and no CURVE keys were given (a client key pair "
                         "and the server's public key); rill never uses tcp:// unencrypted");
}

void apply_client_security(zmq::socket_t& s, const std::string& endpoint,
                           const client_security* sec) {
  require_client_keys(endpoint, sec);
  if (!is_tcp(endpoint)) return;
  s.set(zmq::sockopt::curve_serverkey, sec->server_public_z85);
  s.set(zmq::sockopt::curve_publickey, sec->client.public_z85);
  s.set(zmq::sockopt::curve_secretkey, sec->client.secret_z85);
}

zap_handler::zap_handler(zmq::context_t& ctx, std::vector<std::string> allowed_z85) : ctx_(ctx) {
  std::vector<std::string> allowed;
  for (const auto& k : allowed_z85) {
    auto b = z85_to_binary(k);
    if (b.empty()) throw security_error("allow-list: an entry is not a Z85 key");
    allowed.push_back(std::move(b));
  }
  // Bind in the constructor so that the handler exists before any socket binds.
  auto sock = std::make_shared<zmq::socket_t>(ctx_, zmq::socket_type::rep);
  sock->set(zmq::sockopt::linger, 0);
  sock->bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this, sock, allowed = std::move(allowed)]() mutable {
    zmq::socket_t s = std::move(*sock);
    sock.reset();
    while (!stop_.load()) {
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      try {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
        std::vector<zmq::message_t> req;
        zmq::message_t part;
        do {
          if (!s.recv(part, zmq::recv_flags::none)) break;
          bool more = part.more();
          if (req.size() < 16) req.push_back(std::move(part));
          if (!more) break;
        } while (true);
        // Frames: version, request id, domain, address, routing id,
        // mechanism, credentials (the client's public key for CURVE).
        std::string version = req.size() > 0 ? req[0].to_string() : "";
        std::string request_id = req.size() > 1 ? req[1].to_string() : "";
        std::string domain = req.size() > 2 ? req[2].to_string() : "";
        std::string mechanism = req.size() > 5 ? req[5].to_string() : "";
        const bool curve = version == "1.0" && mechanism == "CURVE" && req.size() > 6;
        const bool allowed_key =
            curve && std::find(allowed.begin(), allowed.end(), req[6].to_string()) != allowed.end();
        const bool answered = curve && !allowed_key && domain == kAnswerDomain;
        if (!allowed_key) refused_.fetch_add(1);
        const bool ok = allowed_key || answered;
        s.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
        s.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
        s.send(zmq::buffer(std::string_view(ok ? "200" : "400")), zmq::send_flags::sndmore);
        s.send(zmq::buffer(std::string_view(ok ? "OK" : "client key not allowed")),
               zmq::send_flags::sndmore);
        s.send(zmq::buffer(std::string_view(answered ? kForbiddenUserId : "")),
               zmq::send_flags::sndmore);
        s.send(zmq::buffer(std::string_view("")), zmq::send_flags::none);
      } catch (const zmq::error_t&) {
        if (ctx_.handle() == nullptr) break;
      }
    }
  });
}

zap_handler::~zap_handler() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace rill::transport
