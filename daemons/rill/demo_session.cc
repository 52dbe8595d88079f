#include "daemons/rill/cli_options.h"
#include "daemons/rill/demo_session.h"

#include <iostream>
#include <sstream>

#include "daemons/rill/output.h"
#include "daemons/rill/probe.h"

namespace rill::cli {

demo_session::demo_session(zmq::context_t& ctx, interrupt_fd& intr, std::filesystem::path data,
                           std::chrono::milliseconds step_timeout, bool quiet)
    : ctx_(ctx), intr_(intr), data_(std::move(data)), step_timeout_(step_timeout), quiet_(quiet) {
  report_["steps"] = nlohmann::json::array();
}

bool demo_session::connect(std::string& error) {
  ep_ = transport::discover_endpoints(data_);
  if (ipc_endpoint_missing(ep_.command)) {
    error = "no rill-core socket at " + ep_.command;
    return false;
  }
  core_ = std::make_unique<transport::rpc_client>(ctx_, ep_.command, client_security());
  auto st = core_->call({{"op", "status"}}, std::chrono::milliseconds(5000));
  if (!st || !st->value("ok", false)) {
    error = "rill-core does not answer on " + ep_.command;
    return false;
  }
  head_at_start_ = st->value("head", uint64_t{0});
  feed_ = std::make_unique<demo_feed>(ctx_, ep_.events, ep_.replay, head_at_start_ + 1,
                                      [this] { return intr_.fired(); });
  return true;
}

void demo_session::step(const std::string& title) {
  ++step_no_;
  report_["steps"].push_back(
      {{"step", step_no_}, {"title", title}, {"checks", nlohmann::json::array()}});
  if (!quiet_) std::cout << "\nStep " << step_no_ << ". " << title << std::endl;
}

void demo_session::say(const std::string& line) {
  if (!quiet_) std::cout << "  " << line << std::endl;
}

void demo_session::show(const nlohmann::json& value) {
  if (quiet_) return;
  std::ostringstream out;
  print_value(out, value);
  std::istringstream in(out.str());
  std::string line;
  while (std::getline(in, line)) std::cout << "      " << line << '\n';
  std::cout.flush();
}

bool demo_session::check(bool ok, const std::string& what, const std::string& detail) {
  ++checks_;
  if (!ok) failures_.push_back(what + (detail.empty() ? "" : " (" + detail + ")"));
  if (!report_["steps"].empty())
    report_["steps"].back()["checks"].push_back({{"check", what}, {"ok", ok}, {"detail", detail}});
  if (!quiet_)
    std::cout << "  " << (ok ? "[ok] " : "[FAILED] ") << what
              << (detail.empty() || ok ? "" : " (" + detail + ")") << std::endl;
  return ok;
}

nlohmann::json demo_session::send(const nlohmann::json& request) {
  if (!quiet_) {
    if (request.contains("batch")) {
      std::cout << "  > send a batch of " << request["batch"].size() << " commands"
                << (request.value("atomic", false) ? " (atomic)" : "") << std::endl;
      for (const auto& c : request["batch"])
        std::cout << "      " << c.value("cmd", std::string()) << " "
                  << c.value("agg", std::string()) << " " << c.value("id", std::string()) << " "
                  << c.value("data", nlohmann::json::object()).dump() << std::endl;
    } else {
      std::cout << "  > send " << request.value("cmd", std::string()) << " "
                << request.value("agg", std::string()) << " " << request.value("id", std::string())
                << " " << request.value("data", nlohmann::json::object()).dump() << std::endl;
    }
  }
  auto reply = core_->call(request, step_timeout_);
  if (!reply) {
    say("  (no reply from rill-core within " + std::to_string(step_timeout_.count()) + " ms)");
    return nullptr;
  }
  reply->erase("req");
  if (!quiet_) {
    auto line = [](const nlohmann::json& r) {
      if (r.value("ok", false))
        return "ok  seq " + r.value("seq", nlohmann::json(nullptr)).dump() + "  ver " +
               r.value("ver", nlohmann::json(nullptr)).dump() +
               (r.value("dup", false) ? "  (dup)" : "");
      return "error " + r.value("error", std::string("?")) + ": " +
             r.value("message", std::string());
    };
    if (reply->contains("results") && (*reply)["results"].is_array())
      for (const auto& r : (*reply)["results"]) std::cout << "      " << line(r) << '\n';
    else
      std::cout << "      " << line(*reply) << '\n';
    std::cout.flush();
  }
  return *reply;
}

nlohmann::json demo_session::query(const std::string& model, const std::string& q,
                                   const nlohmann::json& args, uint64_t after, bool narrate) {
  auto& client = models_[model];
  if (!client) {
    auto it = ep_.models.find(model);
    const std::string ep =
        it != ep_.models.end() ? it->second : transport::default_model_endpoint(data_, model);
    client = std::make_unique<transport::rpc_client>(ctx_, ep, client_security());
  }
  nlohmann::json req = {{"model", model}, {"q", q}, {"args", args}};
  if (after > 0) {
    req["after"] = after;
    req["timeout_ms"] = step_timeout_.count();
  }
  if (narrate && !quiet_) {
    std::string a;
    for (auto it = args.begin(); it != args.end(); ++it)
      a += " " + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
    std::cout << "  > query " << model << " " << q << a
              << (after > 0 ? " --after " + std::to_string(after) : "") << std::endl;
  }
  auto reply = client->call(req, step_timeout_ + std::chrono::milliseconds(2000));
  if (!reply) {
    if (narrate) say("  (no reply from read model " + model + ")");
    return nullptr;
  }
  reply->erase("req");
  if (narrate && !quiet_ && !reply->value("ok", false))
    std::cout << "      error " << reply->value("error", std::string("?")) << ": "
              << reply->value("message", std::string()) << std::endl;
  return *reply;
}

}  // namespace rill::cli
