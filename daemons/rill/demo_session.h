#pragma once
// demo_session: what `rill demo` needs to talk to one running rill and to
// narrate it: sending commands and batches, querying models (with `after`),
// the event feed, and a tally of checks ("[ok] the USD order got a rate").
// With --json the narration is suppressed and the checks are collected for
// one summary object.
//
// Ownership: borrows the zmq context and the interrupt_fd; both must
// outlive it. Thread-safety: not thread-safe (one thread owns its sockets).
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/demo_feed.h"
#include "daemons/rill/interrupt.h"
#include "transport/client.h"
#include "transport/endpoints.h"

namespace rill::cli {

class demo_session {
 public:
  demo_session(zmq::context_t& ctx, interrupt_fd& intr, std::filesystem::path data,
               std::chrono::milliseconds step_timeout, bool quiet);

  // Connects and checks that rill-core answers; starts the feed at head + 1.
  bool connect(std::string& error);

  // Narration (suppressed when quiet).
  void step(const std::string& title);
  void say(const std::string& line);
  void show(const nlohmann::json& value);  // print_value, indented
  // Records a check; prints "[ok] what" or "[FAILED] what (detail)".
  bool check(bool ok, const std::string& what, const std::string& detail = "");

  // Sends a command or batch to rill-core, narrating it. The reply, or a
  // null json when rill-core did not answer.
  nlohmann::json send(const nlohmann::json& request);
  // Queries a model (after = 0: no read-your-writes wait). The reply, or null.
  nlohmann::json query(const std::string& model, const std::string& q,
                       const nlohmann::json& args = nlohmann::json::object(), uint64_t after = 0,
                       bool narrate = true);

  demo_feed& feed() { return *feed_; }
  zmq::context_t& context() { return ctx_; }
  const transport::endpoints& endpoints() const { return ep_; }
  const std::filesystem::path& data() const { return data_; }
  std::chrono::milliseconds step_timeout() const { return step_timeout_; }
  uint64_t head_at_start() const { return head_at_start_; }
  bool quiet() const { return quiet_; }
  bool interrupted() { return intr_.fired(); }
  int interrupt_fd_handle() const { return intr_.fd(); }

  size_t checks() const { return checks_; }
  const std::vector<std::string>& failures() const { return failures_; }
  nlohmann::json& report() { return report_; }  // the --json summary

 private:
  zmq::context_t& ctx_;
  interrupt_fd& intr_;
  std::filesystem::path data_;
  std::chrono::milliseconds step_timeout_;
  bool quiet_;
  transport::endpoints ep_;
  std::unique_ptr<transport::rpc_client> core_;
  std::map<std::string, std::unique_ptr<transport::rpc_client>> models_;
  std::unique_ptr<demo_feed> feed_;
  uint64_t head_at_start_ = 0;
  int step_no_ = 0;
  size_t checks_ = 0;
  std::vector<std::string> failures_;
  nlohmann::json report_ = nlohmann::json::object();
};

}  // namespace rill::cli
