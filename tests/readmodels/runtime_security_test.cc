// tcp:// query endpoints: CURVE with an allow-list (ZAP); refused otherwise.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "tests/readmodels/runtime_test_util.h"
#include "tests/support/daemon_probe.h"
#include "transport/security.h"

namespace rill::test {
namespace {

// A port that was free a moment ago (bind to 0, read it, close).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    ADD_FAILURE() << "no free port";
  ::close(fd);
  return ntohs(a.sin_port);
}

// Z85 keys may contain '#', which the key-file reader takes for a comment;
// use keys without it here (the reader's limitation is not under test).
transport::key_pair clean_key_pair() {
  for (;;) {
    auto kp = transport::generate_key_pair();
    if (kp.public_z85.find('#') == std::string::npos &&
        kp.secret_z85.find('#') == std::string::npos)
      return kp;
  }
}

TEST(RuntimeSecurity, TcpQueryEndpointAdmitsOnlyAllowedCurveKeys) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(10, 2);
  const auto server = clean_key_pair();
  const auto allowed = clean_key_pair();
  const auto stranger = clean_key_pair();
  const auto key_file = (dir.path() / "server.key").string();
  const auto allow_file = (dir.path() / "allow.txt").string();
  transport::save_key_file(key_file, server, true);
  std::ofstream(allow_file) << allowed.public_z85 << "\n";

  const std::string ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto opt = test_options(dir.path());
  opt.model_endpoints["journal_stats"] = ep;
  opt.curve_key_file = key_file;
  opt.curve_allow_file = allow_file;
  running_runtime rt(opt, stats_model());

  transport::client_security ok{server.public_z85, allowed};
  transport::rpc_client good(ctx, ep, &ok);
  auto r = good.call({{"q", "totals"}}, 10000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["result"]["events"], 10);

  transport::client_security bad{server.public_z85, stranger};
  transport::rpc_client refused(ctx, ep, &bad);
  auto no = refused.call({{"q", "totals"}, {"req", 3}}, 10000ms);
  ASSERT_TRUE(no) << "an unknown key is told why";
  EXPECT_EQ((*no)["ok"], false);
  EXPECT_EQ((*no)["error"], "forbidden");
  EXPECT_EQ((*no)["req"], 3);
  EXPECT_FALSE(no->contains("result")) << "and gets no data";
  EXPECT_FALSE(plain_answers(ctx, ep, {{"q", "totals"}}, 500ms)) << "no CURVE gets nothing";
}

TEST(RuntimeSecurity, TcpWithoutKeysRefusesToStart) {
  temp_dir dir;
  auto opt = test_options(dir.path());
  opt.model_endpoints["journal_stats"] = "tcp://127.0.0.1:" + std::to_string(free_port());
  readmodels::runtime rt(opt, stats_model());
  EXPECT_EQ(rt.run(), 2) << "configuration refused";
}

}  // namespace
}  // namespace rill::test
